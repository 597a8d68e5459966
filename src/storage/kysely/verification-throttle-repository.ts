import type { Kysely, Selectable } from "kysely";
import type { VerificationThrottleStore } from "../../app/ports.js";
import type { VerificationThrottleRecord } from "../../app/records.js";
import type { Database, VerificationThrottlesTable } from "./database.js";
import { toTimeText } from "./time-text.js";

const TABLE = "verification_throttles";

export function createVerificationThrottleRepository(
  db: Kysely<Database>,
): VerificationThrottleStore {
  const one = (tenant: string, key: string) =>
    db.updateTable(TABLE).where("tenant", "=", tenant).where("throttle_key", "=", key);

  const empty = (tenant: string, key: string) => ({
    tenant,
    throttle_key: key,
    consecutive_failures: 0,
  });

  return {
    async get(tenant, key) {
      const row = await db
        .selectFrom(TABLE)
        .selectAll()
        .where("tenant", "=", tenant)
        .where("throttle_key", "=", key)
        .executeTakeFirst();
      return row === undefined ? undefined : toThrottle(row);
    },

    // An upsert that changes nothing still takes the row lock on PostgreSQL (ON CONFLICT DO
    // UPDATE locks the conflicting row), which a plain SELECT … FOR UPDATE could not do for a
    // row that does not exist yet.
    async claim(tenant, key) {
      const row = await db
        .insertInto(TABLE)
        .values(empty(tenant, key))
        .onConflict((oc) =>
          oc.columns(["tenant", "throttle_key"]).doUpdateSet((eb) => ({
            consecutive_failures: eb.ref(`${TABLE}.consecutive_failures`),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toThrottle(row);
    },

    // One statement: concurrent failures on any number of instances each add exactly one.
    async recordFailure(tenant, key, { at, forgetBefore }) {
      const time = toTimeText(at, "at");
      const forget = toTimeText(forgetBefore, "forgetBefore");
      const row = await db
        .insertInto(TABLE)
        .values({ ...empty(tenant, key), consecutive_failures: 1, last_failure_at: time })
        .onConflict((oc) =>
          oc.columns(["tenant", "throttle_key"]).doUpdateSet((eb) => ({
            consecutive_failures: eb
              .case()
              .when(
                eb.or([
                  eb(`${TABLE}.last_failure_at`, "is", null),
                  eb(`${TABLE}.last_failure_at`, "<", forget),
                ]),
              )
              .then(1)
              .else(eb(`${TABLE}.consecutive_failures`, "+", 1))
              .end(),
            last_failure_at: time,
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
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
      const time = toTimeText(at, "at");
      await db
        .insertInto(TABLE)
        .values({ ...empty(tenant, key), last_success_at: time })
        .onConflict((oc) =>
          oc.columns(["tenant", "throttle_key"]).doUpdateSet({
            consecutive_failures: 0,
            next_attempt_at: null,
            last_success_at: time,
          }),
        )
        .execute();
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
