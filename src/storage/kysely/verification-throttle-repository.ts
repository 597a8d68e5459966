import { sql, SqliteAdapter, type Kysely, type Selectable } from "kysely";
import type { VerificationThrottleStore } from "../../app/ports.js";
import type { VerificationThrottleRecord } from "../../app/records.js";
import type { Database, VerificationThrottlesTable } from "./database.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

const TABLE = "verification_throttles";

/**
 * A row's last activity, its later failure or success ('' for neither): the expression that
 * migration 0010 indexes, written here exactly as there so that both dialects use the index.
 */
const LAST_ACTIVITY = sql<string>`(CASE WHEN coalesce(last_failure_at, '') > coalesce(last_success_at, '') THEN coalesce(last_failure_at, '') ELSE coalesce(last_success_at, '') END)`;

// Every verification reads (admits) and claims the principal's row, and counts a failure or a
// success on it: compiled once each (query-template.ts).
const select = queryTemplate<Selectable<VerificationThrottlesTable>, [string, string]>(
  2,
  (db, tenant, key) =>
    db.selectFrom(TABLE).selectAll().where("tenant", "=", tenant).where("throttle_key", "=", key),
);
const claim = queryTemplate<Selectable<VerificationThrottlesTable>, [string, string]>(
  2,
  (db, tenant, key) =>
    db
      .insertInto(TABLE)
      .values({ tenant, throttle_key: key, consecutive_failures: 0 })
      .onConflict((oc) =>
        oc.columns(["tenant", "throttle_key"]).doUpdateSet((eb) => ({
          consecutive_failures: eb.ref(`${TABLE}.consecutive_failures`),
        })),
      )
      .returningAll(),
);
const recordFailure = queryTemplate<
  Selectable<VerificationThrottlesTable>,
  [string, string, string, string]
>(4, (db, tenant, key, at, forgetBefore) =>
  db
    .insertInto(TABLE)
    .values({ tenant, throttle_key: key, consecutive_failures: 1, last_failure_at: at })
    .onConflict((oc) =>
      oc.columns(["tenant", "throttle_key"]).doUpdateSet((eb) => ({
        consecutive_failures: eb
          .case()
          .when(
            eb.or([
              eb(`${TABLE}.last_failure_at`, "is", null),
              eb(`${TABLE}.last_failure_at`, "<", forgetBefore),
            ]),
          )
          .then(1)
          .else(eb(`${TABLE}.consecutive_failures`, "+", 1))
          .end(),
        last_failure_at: at,
      })),
    )
    .returningAll(),
);
const recordSuccess = queryTemplate<unknown, [string, string, string]>(3, (db, tenant, key, at) =>
  db
    .insertInto(TABLE)
    .values({ tenant, throttle_key: key, consecutive_failures: 0, last_success_at: at })
    .onConflict((oc) =>
      oc.columns(["tenant", "throttle_key"]).doUpdateSet({
        consecutive_failures: 0,
        next_attempt_at: null,
        last_success_at: at,
      }),
    ),
);

/**
 * Up to `limit` rows that hold nothing (see `VerificationThrottleStore.purge`), found through the
 * last-activity index. On PostgreSQL only rows it can lock at once: a row a verification holds
 * is skipped, never waited for, so the purge neither blocks nor deadlocks against verifications
 * (it holds no lock they wait for beyond its own short statement). SQLite's writers are serial:
 * nothing else holds a row. Built on each call, with the limit bound: it runs a few times a
 * minute at most, so SQLite preparing it again each time costs nothing that matters.
 */
export function purgeableRows(db: Kysely<Database>, before: string, limit: number) {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const id = sqlite ? sql<string>`rowid` : sql<string>`ctid`;
  const rows = db
    .selectFrom(TABLE)
    .select(id.as("id"))
    .where(LAST_ACTIVITY, "<", before)
    .where("locked_at", "is", null)
    .where((eb) => eb.or([eb("next_attempt_at", "is", null), eb("next_attempt_at", "<", before)]))
    .limit(limit);
  return db.deleteFrom(TABLE).where(id, "in", sqlite ? rows : rows.forUpdate().skipLocked());
}

export function createVerificationThrottleRepository(
  db: Kysely<Database>,
): VerificationThrottleStore {
  const one = (tenant: string, key: string) =>
    db.updateTable(TABLE).where("tenant", "=", tenant).where("throttle_key", "=", key);

  return {
    async get(tenant, key) {
      const [row] = (await select(db, tenant, key)).rows;
      return row === undefined ? undefined : toThrottle(row);
    },

    // An upsert that changes nothing still takes the row lock on PostgreSQL (ON CONFLICT DO
    // UPDATE locks the conflicting row), which a plain SELECT … FOR UPDATE could not do for a
    // row that does not exist yet.
    async claim(tenant, key) {
      const [row] = (await claim(db, tenant, key)).rows;
      if (row === undefined) throw new Error("The throttle claim returned no row.");
      return toThrottle(row);
    },

    // One statement: concurrent failures on any number of instances each add exactly one.
    async recordFailure(tenant, key, { at, forgetBefore }) {
      const time = toTimeText(at, "at");
      const forget = toTimeText(forgetBefore, "forgetBefore");
      const [row] = (await recordFailure(db, tenant, key, time, forget)).rows;
      if (row === undefined) throw new Error("The throttle failure returned no row.");
      return toThrottle(row);
    },

    async postpone(tenant, key, until) {
      const time = toTimeText(until, "until");
      await one(tenant, key)
        .set({ next_attempt_at: time })
        .where((eb) => eb.or([eb("next_attempt_at", "is", null), eb("next_attempt_at", "<", time)]))
        .execute();
    },

    // A second statement after the count, so that of concurrent failures crossing the threshold
    // exactly one sees the row unlocked: PostgreSQL re-checks the WHERE on the locked row.
    async lock(tenant, key, { threshold, at, expiresAt }) {
      const updated = await one(tenant, key)
        .set({
          locked_at: toTimeText(at, "at"),
          lock_expires_at: toTimeText(expiresAt, "expiresAt"),
        })
        .where("locked_at", "is", null)
        .where("consecutive_failures", ">=", threshold)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async recordSuccess(tenant, key, at) {
      await recordSuccess(db, tenant, key, toTimeText(at, "at"));
    },

    async clear(tenant, key) {
      const updated = await one(tenant, key)
        .set({
          consecutive_failures: 0,
          next_attempt_at: null,
          locked_at: null,
          lock_expires_at: null,
        })
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async purge(before, limit) {
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new RangeError(`limit must be a positive integer: ${String(limit)}`);
      }
      const deleted = await purgeableRows(
        db,
        toTimeText(before, "before"),
        limit,
      ).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}

function toThrottle(row: Selectable<VerificationThrottlesTable>): VerificationThrottleRecord {
  return {
    tenant: row.tenant,
    key: row.throttle_key,
    consecutiveFailures: row.consecutive_failures,
    ...(row.next_attempt_at === null ? {} : { nextAttemptAt: row.next_attempt_at }),
    ...(row.locked_at === null ? {} : { lockedAt: row.locked_at }),
    ...(row.lock_expires_at === null ? {} : { lockExpiresAt: row.lock_expires_at }),
    ...(row.last_failure_at === null ? {} : { lastFailureAt: row.last_failure_at }),
    ...(row.last_success_at === null ? {} : { lastSuccessAt: row.last_success_at }),
  };
}
