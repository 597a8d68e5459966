import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { ASSURANCE_TOKEN_TYPE } from "../core/assurance-claims.js";
import type {
  AssuranceTokenSigner,
  PublicJwk,
  SigningAlgorithm,
} from "../app/assurance/token-signer.js";

/** Signs assurance tokens with `jose`: ES256 (P-256) or EdDSA (Ed25519) keys, compact JWS. */
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

    async sign(claims, key) {
      let privateKey = imported.get(key.privateJwk);
      if (privateKey === undefined) {
        privateKey = importJWK(JSON.parse(key.privateJwk) as JWK, key.alg);
        imported.set(key.privateJwk, privateKey);
      }
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ASSURANCE_TOKEN_TYPE })
        .sign(await privateKey);
    },
  };
}
