/**
 * TOTP enrolments waiting for their first code. Each is confirmed only within
 * `totp.enrolmentTtlSeconds` of its begin (its secret was shown then, and may have been kept);
 * past it, it can never be confirmed, its sealed secret is never opened again, and it goes:
 *
 * - when a confirmation of it is tried, or the principal begins another (authenticators.ts);
 * - else through {@link purgeExpiredEnrolmentsIfDue}, run before the verifications of every
 *   method and TOTP enrolments begun (not confirmations: one past its time answers
 *   `authenticator.enrolment_expired` itself), at most once a minute per store, once it is
 *   past its time on every instance ({@link lapsedEnrolmentsBegunBy}).
 *
 * Until then the start-up check of sealing keys counts its secret and `secrets reseal` re-seals
 * it; after, neither does: a key that only such enrolments name is no longer needed.
 *
 * @module
 */
import type { AuditEntry } from "../audit/audit-chain.js";
import { DEFAULT_TOTP_SETTINGS, recordAuditAcross, transact, type Context } from "../context.js";
import { INSTANCE_CLOCK_DRIFT_SECONDS, type Store } from "../ports.js";
import type { AuthenticatorRecord } from "../records.js";

/**
 * The most enrolments a principal has waiting at once: beginning another past it removes the
 * oldest (audited `authenticator.enrolment_replaced`). A hosted flow begins a new one after each
 * failed confirmation and shows the newest only, so refusing would strand a user who mistyped a
 * few codes; the older ones are abandoned anyway. Bounds what one principal's begins (each with
 * a fresh MFA once it holds a method) leave in the store within one enrolment's time.
 */
export const MAX_PENDING_ENROLMENTS = 5;

/**
 * The most expired enrolments one purge transaction removes, and the most transactions one due
 * purge runs: each removal is audited (one event each, appended a chain at a time), and the
 * transaction stays short (on SQLite it holds the one write lock). 1,000 a minute per instance
 * is far beyond what abandoned enrolments, at most {@link MAX_PENDING_ENROLMENTS} per principal
 * per enrolment time, leave behind.
 */
export const ENROLMENT_PURGE_BATCH = 200;
const PURGE_TRANSACTIONS = 5;
const PURGE_INTERVAL_MS = 60_000;

/** Who the purge's events name as actor: no caller asked for it. */
export const ENROLMENT_PURGE_ACTOR = "tenant-mfa";

/** When each store (one per instance) was last purged of expired enrolments. */
const lastPurges = new WeakMap<Store, number>();

/** How long after it began a pending enrolment may be confirmed, in seconds. */
export const enrolmentTtlSeconds = (context: Pick<Context, "settings">): number =>
  (context.settings.totp ?? DEFAULT_TOTP_SETTINGS).enrolmentTtlSeconds;

/** When the pending enrolment `record` stops being confirmable: its begin plus the TTL. */
export const enrolmentExpiry = (ttlSeconds: number, record: AuthenticatorRecord): Date =>
  new Date(Date.parse(record.createdAt) + ttlSeconds * 1000);

/**
 * The latest begin of a pending enrolment that is past its time on every instance: `now` less
 * the TTL and the instances' clock drift. One begun by then is purged, its secret no longer
 * counted as needing its key nor re-sealed; one begun later may still be confirmed on an
 * instance whose clock is behind, and is kept, counted and re-sealed.
 */
export const lapsedEnrolmentsBegunBy = (ttlSeconds: number, now: Date): Date =>
  new Date(now.getTime() - (ttlSeconds + INSTANCE_CLOCK_DRIFT_SECONDS) * 1000);

/** The audit entry of an expired enrolment removed: when it began and expired, never its secret. */
export function enrolmentExpiredEntry(
  record: AuthenticatorRecord,
  ttlSeconds: number,
  actor: string,
  by?: "purge",
): AuditEntry {
  return {
    tenant: record.tenant,
    type: "authenticator.enrolment_expired",
    actor,
    payload: {
      principal: record.principal,
      authenticator: record.id,
      kind: record.kind,
      createdAt: record.createdAt,
      expiresAt: enrolmentExpiry(ttlSeconds, record).toISOString(),
      ...(by === undefined ? {} : { by }),
    },
  };
}

/**
 * At most once a minute per store (instance), by the context's clock, removes the pending
 * enrolments begun by {@link lapsedEnrolmentsBegunBy}, in every tenant: up to
 * {@link ENROLMENT_PURGE_BATCH} per transaction, each audited in its tenant's chain as the expiry
 * a confirmation finds is (`authenticator.enrolment_expired`, with `by: "purge"`, the actor
 * {@link ENROLMENT_PURGE_ACTOR}), so that every `authenticator.enrolment_started` has its end in
 * the chain. Runs in transactions of its own: call it before opening one. Returns how many went
 * (0 when not due).
 */
export async function purgeExpiredEnrolmentsIfDue(context: Context): Promise<number> {
  const now = context.clock.now();
  const last = lastPurges.get(context.store);
  if (last !== undefined && now.getTime() - last < PURGE_INTERVAL_MS) return 0;
  lastPurges.set(context.store, now.getTime());
  const ttl = enrolmentTtlSeconds(context);
  const begunBy = lapsedEnrolmentsBegunBy(ttl, now).toISOString();
  let purged = 0;
  for (let k = 0; k < PURGE_TRANSACTIONS; k += 1) {
    // The rows first, then the chains' heads (every transaction's order): on PostgreSQL the
    // purge waits for no row (it skips those held) while holding a head.
    const removed = await transact(context, async (r) => {
      const records = await r.authenticators.purgePending(begunBy, ENROLMENT_PURGE_BATCH);
      if (records.length === 0) return 0;
      await recordAuditAcross(
        context,
        r,
        records.map((record) => enrolmentExpiredEntry(record, ttl, ENROLMENT_PURGE_ACTOR, "purge")),
      );
      return records.length;
    });
    purged += removed;
    if (removed < ENROLMENT_PURGE_BATCH) break;
  }
  return purged;
}
