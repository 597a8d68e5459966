import { lapsedEnrolmentsBegunBy } from "../authenticators/pending-enrolments.js";
import type { SealedKeyCount, SealedSecretKind, Store } from "../ports.js";

/** A key that values sealed in the store name, missing from the keys at hand: what it seals. */
export interface MissingSealingKey {
  /** Empty for values of no known shape (they name no key). */
  readonly keyId: string;
  /** How many values of each kind it seals. */
  readonly seals: readonly SealedKeyCount[];
}

/**
 * The keys that values sealed in `store` name and that `keyIds` (the keys the server will open
 * with) lacks, each with how many values of each kind it seals: what would answer
 * `secret.unavailable` at first use (TOTP verifications, OIDC sign-ins, assurance tokens).
 * Counted by the store, one query a kind; nothing is opened. A value whose key is at hand may
 * still fail to open (altered, or another key under the same id): that shows when it is used.
 * The secret of a TOTP enrolment past its time on every instance (`enrolmentTtlSeconds` and the
 * clock drift after its begin) is not counted: it is never confirmed, never opened, and purged,
 * so a key only such enrolments name is not missing.
 */
export async function findMissingSealingKeys(
  store: Store,
  keyIds: readonly string[],
  at: Date,
  enrolmentTtlSeconds: number,
): Promise<readonly MissingSealingKey[]> {
  const begunAfter = lapsedEnrolmentsBegunBy(enrolmentTtlSeconds, at).toISOString();
  const counts = await store.read((r) => r.sealedSecrets.countByKey(at.toISOString(), begunAfter));
  const missing = new Map<string, SealedKeyCount[]>();
  for (const count of counts) {
    if (keyIds.includes(count.keyId)) continue;
    const seals = missing.get(count.keyId) ?? [];
    seals.push(count);
    missing.set(count.keyId, seals);
  }
  return [...missing].map(([keyId, seals]) => ({ keyId, seals }));
}

const KINDS: Readonly<Record<SealedSecretKind, readonly [string, string]>> = {
  // Of confirmed authenticators and of enrolments still in their time: not of expired ones.
  totp_secret: ["TOTP secret", "TOTP secrets"],
  idp_client_secret: ["OIDC client secret", "OIDC client secrets"],
  signing_key: ["assurance-token signing key", "assurance-token signing keys"],
  pkce_verifier: [
    "PKCE verifier of a pending OIDC sign-in",
    "PKCE verifiers of pending OIDC sign-ins",
  ],
};

/**
 * Each missing key and what it seals, for an operator: `k1 (2 TOTP secrets, 1 OIDC client
 * secret), k0 (1 assurance-token signing key)`; pending sign-ins say when the last expires.
 */
export function describeMissingKeys(missing: readonly MissingSealingKey[]): string {
  return missing
    .map(({ keyId, seals }) => {
      const what = seals.map(({ kind, count, until }) => {
        const [one, many] = KINDS[kind];
        const expiry = until === undefined ? "" : `, the last expiring at ${until}`;
        return `${String(count)} ${count === 1 ? one : many}${expiry}`;
      });
      return `${keyId === "" ? "no key (values of another shape)" : keyId} (${what.join(", ")})`;
    })
    .join(", ");
}
