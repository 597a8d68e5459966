import {
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
} from "jose";
import type {
  AssuranceTokenSigner,
  PublicJwk,
  SigningAlgorithm,
} from "../app/assurance/token-signer.js";

/**
 * Signs and verifies with `jose`: ES256 (P-256) or EdDSA (Ed25519) keys, compact JWS. Verifying
 * takes the keys the caller trusts and nothing from the token (no `jwk`, `jku` or `x5u`).
 */
export function createJoseTokenSigner(): AssuranceTokenSigner {
  // Importing a key costs more than signing with it, and keys are few: keep each imported one,
  // found by its own serialisation (a kid alone could name another key in another store).
  const imported = new Map<string, ReturnType<typeof importJWK>>();
  return {
    async generateKey(alg: SigningAlgorithm) {
      const { publicKey, privateKey } = await generateKeyPair(alg, {
        extractable: true,
        ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}),
      });
      const publicJwk = (await exportJWK(publicKey)) as PublicJwk;
      return { publicJwk, privateJwk: JSON.stringify(await exportJWK(privateKey)) };
    },

    async sign(claims, key, type) {
      let privateKey = imported.get(key.privateJwk);
      if (privateKey === undefined) {
        privateKey = importJWK(JSON.parse(key.privateJwk) as JWK, key.alg);
        imported.set(key.privateJwk, privateKey);
      }
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: type })
        .sign(await privateKey);
    },

    async verify(token, keys, type) {
      try {
        const { payload } = await compactVerify(token, async (header) => {
          const key = keys.find((candidate) => candidate.kid === header.kid);
          // The key's own algorithm only, never the header's choice (RFC 8725 §3.1).
          if (key === undefined || header.alg !== key.alg) throw new Error("unknown key");
          return importJWK({ ...key.publicJwk, alg: key.alg }, key.alg);
        });
        const { typ } = decodeProtectedHeader(token);
        if (typ !== type) return undefined;
        const claims: unknown = JSON.parse(new TextDecoder().decode(payload));
        return typeof claims === "object" && claims !== null && !Array.isArray(claims)
          ? (claims as Record<string, unknown>)
          : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
