import type { AssuranceClaims } from "../../core/assurance-claims.js";

/**
 * The port through which assurance tokens are signed (JWS, RFC 7515). The adapter in
 * `src/tokens` implements it with `jose`; the use cases keep the keys (sealed) and decide which
 * one signs.
 *
 * @module
 */

/** The algorithms tokens are signed with: ECDSA P-256 or Ed25519 (RFC 7518, RFC 8037). */
export type SigningAlgorithm = "ES256" | "EdDSA";

/** A public JWK as published in the JWKS (RFC 7517). */
export type PublicJwk = Readonly<Record<string, string>>;

/** A new key pair: the public half to publish, the private half to seal at once. */
export interface GeneratedSigningKey {
  readonly publicJwk: PublicJwk;
  /** The private JWK, serialised: the caller seals it before it goes anywhere. */
  readonly privateJwk: string;
}

/** A public key as stored: what verifies what its private half signed. */
export interface PublicSigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: PublicJwk;
}

/**
 * Signs with keys it is handed: assurance tokens, and the audit checkpoints an auditor keeps.
 * `type` is the JWS `typ` header, so that one kind of token is never taken for the other
 * (RFC 8725 §3.11).
 */
export interface AssuranceTokenSigner {
  generateKey(alg: SigningAlgorithm): Promise<GeneratedSigningKey>;
  sign(
    claims: AssuranceClaims | Readonly<Record<string, unknown>>,
    key: { readonly kid: string; readonly alg: SigningAlgorithm; readonly privateJwk: string },
    type: string,
  ): Promise<string>;
  /**
   * The claims of `token` when the key of `keys` that its header names signed it, with its own
   * algorithm and header `typ` = `type`; undefined for anything else.
   */
  verify(
    token: string,
    keys: readonly PublicSigningKey[],
    type: string,
  ): Promise<Readonly<Record<string, unknown>> | undefined>;
}
