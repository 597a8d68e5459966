import type { JWK } from "jose";

interface KeyShape {
  readonly kty: "RSA" | "EC" | "OKP";
  readonly crv?: string;
}

/**
 * The asymmetric JWS algorithms an ID token may be verified with, and the key each needs.
 * Symmetric algorithms (HS256…) are absent on purpose: they would be keyed with the client
 * secret (OIDC Core §10.1), and a verifier that accepts them is one confusion away from keying
 * HMAC with the IdP's public key (RFC 8725 §2.1). An IdP registration listing them gets none.
 */
const KEY_SHAPES: Readonly<Record<string, KeyShape>> = {
  RS256: { kty: "RSA" },
  RS384: { kty: "RSA" },
  RS512: { kty: "RSA" },
  PS256: { kty: "RSA" },
  PS384: { kty: "RSA" },
  PS512: { kty: "RSA" },
  ES256: { kty: "EC", crv: "P-256" },
  ES384: { kty: "EC", crv: "P-384" },
  ES512: { kty: "EC", crv: "P-521" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
  Ed25519: { kty: "OKP", crv: "Ed25519" },
};

/** The registration's allow-list, less anything this verifier will not verify with. */
export function allowedAlgorithms(registered: readonly string[]): ReadonlySet<string> {
  return new Set(registered.filter((alg) => Object.hasOwn(KEY_SHAPES, alg)));
}

/**
 * Whether a published key may verify a signature made with `alg`: the right type and curve, meant
 * for signatures, and not pinned by the IdP to another algorithm.
 */
export function keyFitsAlgorithm(jwk: JWK, alg: string): boolean {
  const shape = KEY_SHAPES[alg];
  if (shape === undefined || jwk.kty !== shape.kty) return false;
  if (shape.crv !== undefined && jwk.crv !== shape.crv) return false;
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  if (
    jwk.key_ops !== undefined &&
    !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))
  ) {
    return false;
  }
  return jwk.alg === undefined || jwk.alg === alg;
}
