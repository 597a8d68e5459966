import type { Kysely, Selectable } from "kysely";
import type { RecoveryCodeStore } from "../../app/ports.js";
import type { RecoveryCodeRecord, RecoveryCodeSetRecord } from "../../app/records.js";
import type { Database, RecoveryCodeSetsTable, RecoveryCodesTable } from "./database.js";
import { countFailure } from "./failure-count.js";
import { toTimeText } from "./time-text.js";

export function createRecoveryCodeRepository(db: Kysely<Database>): RecoveryCodeStore {
  const currentSet = async (tenant: string, principal: string) =>
    db
      .selectFrom("recovery_code_sets")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("principal", "=", principal)
      .executeTakeFirst();

  return {
    async status(tenant, principal) {
      const set = await currentSet(tenant, principal);
      if (set === undefined) return undefined;
      const counts = await db
        .selectFrom("recovery_codes")
        .select((eb) => [eb.fn.countAll().as("total"), eb.fn.count("used_at").as("used")])
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where("set_id", "=", set.id)
        .executeTakeFirstOrThrow();
      const total = Number(counts.total);
      return { set: toSet(set), total, remaining: total - Number(counts.used) };
    },

    async find(tenant, principal, locator) {
      const set = await currentSet(tenant, principal);
      if (set === undefined) return undefined;
      const code = await db
        .selectFrom("recovery_codes")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where("set_id", "=", set.id)
        .where("locator", "=", locator)
        .executeTakeFirst();
      return { set: toSet(set), ...(code === undefined ? {} : { code: toCode(code) }) };
    },

    // The upsert comes first: it locks the principal's set row, so that of two concurrent
    // replacements the second waits and then drops the first one's codes too.
    async replace(set, codes) {
      const createdAt = toTimeText(set.createdAt, "createdAt");
      await db
        .insertInto("recovery_code_sets")
        .values({
          tenant: set.tenant,
          principal: set.principal,
          id: set.id,
          created_at: createdAt,
          failed_attempts: 0,
          locked_at: null,
          last_used_at: null,
        })
        .onConflict((oc) =>
          oc
            .columns(["tenant", "principal"])
            .doUpdateSet({ id: set.id, created_at: createdAt, last_used_at: null }),
        )
        .execute();
      await db
        .deleteFrom("recovery_codes")
        .where("tenant", "=", set.tenant)
        .where("principal", "=", set.principal)
        .where("set_id", "<>", set.id)
        .execute();
      if (codes.length === 0) return;
      await db
        .insertInto("recovery_codes")
        .values(
          codes.map((code) => ({
            tenant: set.tenant,
            principal: set.principal,
            set_id: set.id,
            locator: code.locator,
            hash: code.hash,
            used_at: code.usedAt === undefined ? null : toTimeText(code.usedAt, "usedAt"),
          })),
        )
        .execute();
    },

    // One conditional UPDATE: the row lock (PostgreSQL) or the write lock (SQLite) makes the
    // second of two concurrent submissions of one code see it used and match nothing.
    async use(tenant, principal, set, locator, at) {
      const time = toTimeText(at, "at");
      const used = await db
        .updateTable("recovery_codes")
        .set({ used_at: time })
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where("set_id", "=", set)
        .where("locator", "=", locator)
        .where("used_at", "is", null)
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom("recovery_code_sets")
              .select("id")
              .where("recovery_code_sets.tenant", "=", tenant)
              .where("recovery_code_sets.principal", "=", principal)
              .where("recovery_code_sets.id", "=", set)
              .where("recovery_code_sets.locked_at", "is", null),
          ),
        )
        .executeTakeFirst();
      if (used.numUpdatedRows !== 1n) return false;
      await db
        .updateTable("recovery_code_sets")
        .set({ failed_attempts: 0, last_used_at: time })
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where("id", "=", set)
        .execute();
      return true;
    },

    async recordFailure(tenant, principal, limit, at) {
      return countFailure(
        db
          .updateTable("recovery_code_sets")
          .where("tenant", "=", tenant)
          .where("principal", "=", principal)
          .where("locked_at", "is", null),
        limit,
        at,
      );
    },

    async revoke(tenant, principal) {
      await db
        .deleteFrom("recovery_codes")
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .execute();
      const deleted = await db
        .deleteFrom("recovery_code_sets")
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .executeTakeFirst();
      return deleted.numDeletedRows === 1n;
    },

    async unlock(tenant, principal) {
      const updated = await db
        .updateTable("recovery_code_sets")
        .set({ failed_attempts: 0, locked_at: null })
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where((eb) => eb.or([eb("failed_attempts", ">", 0), eb("locked_at", "is not", null)]))
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },
  };
}

function toSet(row: Selectable<RecoveryCodeSetsTable>): RecoveryCodeSetRecord {
  return {
    tenant: row.tenant,
    principal: row.principal,
    id: row.id,
    createdAt: row.created_at,
    failedAttempts: row.failed_attempts,
    ...(row.locked_at === null ? {} : { lockedAt: row.locked_at }),
    ...(row.last_used_at === null ? {} : { lastUsedAt: row.last_used_at }),
  };
}

function toCode(row: Selectable<RecoveryCodesTable>): RecoveryCodeRecord {
  return {
    tenant: row.tenant,
    principal: row.principal,
    set: row.set_id,
    locator: row.locator,
    hash: row.hash,
    ...(row.used_at === null ? {} : { usedAt: row.used_at }),
  };
}
