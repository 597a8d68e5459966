import { compactVerify, errors, importJWK, type CryptoKey, type JWK } from "jose";
import type { IdpRegistrationVersion, VerifiedIdToken } from "../../app/federation/protocols.js";
import { checkIdTokenClaims, type ClaimExpectations } from "./id-token-claims.js";
import { parsePayload, readIdTokenHeader } from "./id-token-header.js";
import type { KeySets } from "./jwks.js";
import { checkRecordableClaims } from "./recordable-claims.js";
import { reject, type OidcOutcome } from "./rejection.js";

/** Where the ID token's keys come from, and which algorithms the registration allows. */
export interface IdTokenKeys {
  readonly keySets: KeySets;
  readonly jwksUri: string;
  readonly allowedAlgorithms: ReadonlySet<string>;
  /** The registration they verify for (see `KeySets.keysFor`). */
  readonly registration?: IdpRegistrationVersion | undefined;
}

/**
 * Imported keys, per published JWK object and algorithm. The cached key sets are frozen and
 * replaced whole on refetch, so a dropped set takes its imported keys with it.
 */
const importedKeys = new WeakMap<JWK, Map<string, Promise<CryptoKey | undefined>>>();

/**
 * Verifies an ID token: its shape and header first (no key lookup for a token that names a
 * forbidden algorithm or brings its own key), then the signature with the issuer's published
 * keys under the one algorithm the header names and the registration allows, then every claim,
 * and last whether the claims that are recorded can be recorded as signed.
 */
export async function verifyIdToken(
  token: string,
  keys: IdTokenKeys,
  expected: ClaimExpectations,
): Promise<OidcOutcome<VerifiedIdToken>> {
  const header = readIdTokenHeader(token, keys.allowedAlgorithms);
  if (!header.ok) return header;
  const { alg } = header.value;

  const candidates = await keys.keySets.keysFor(
    expected.issuer,
    keys.jwksUri,
    header.value,
    keys.registration,
  );
  if (!candidates.ok) return candidates;

  let payload: Uint8Array | undefined;
  for (const jwk of candidates.value) {
    const key = await importKey(jwk, alg);
    if (key === undefined) continue;
    try {
      // The algorithm is pinned here as well: jose refuses any other, whatever the header says.
      ({ payload } = await compactVerify(token, key, { algorithms: [alg] }));
      break;
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) continue;
      return reject(
        "oidc.id_token_malformed",
        `the ID token could not be verified (${joseCode(error)})`,
      );
    }
  }
  if (payload === undefined) {
    return reject("oidc.signature_invalid", "no published key of the IdP verifies the signature");
  }

  const claims = parsePayload(payload);
  if (claims === undefined) {
    return reject("oidc.id_token_malformed", "the ID token payload is not a JSON object");
  }
  const checked = checkIdTokenClaims(claims, expected);
  return checked.ok ? checkRecordableClaims(checked.value) : checked;
}

function importKey(jwk: JWK, alg: string): Promise<CryptoKey | undefined> {
  let byAlgorithm = importedKeys.get(jwk);
  if (byAlgorithm === undefined) {
    byAlgorithm = new Map();
    importedKeys.set(jwk, byAlgorithm);
  }
  let imported = byAlgorithm.get(alg);
  if (imported === undefined) {
    // A published key jose will not import (a bad curve, a broken modulus) verifies nothing. Nor
    // does an RSA key under 2048 bits: jose imports it, then refuses it when verifying with a
    // TypeError, which would end the search before the IdP's other keys were tried.
    imported = importJWK(jwk, alg).then(
      (key) => (key instanceof Uint8Array || tooShort(key) ? undefined : key),
      () => undefined,
    );
    byAlgorithm.set(alg, imported);
  }
  return imported;
}

/** RFC 7518 §3.3 and §3.5: RSA keys of 2048 bits or more; jose refuses shorter ones at verify. */
function tooShort(key: CryptoKey): boolean {
  const { modulusLength } = key.algorithm as { modulusLength?: number };
  return modulusLength !== undefined && modulusLength < 2048;
}

function joseCode(error: unknown): string {
  return error instanceof errors.JOSEError ? error.code : "unexpected error";
}
