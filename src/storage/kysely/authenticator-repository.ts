import { sql, SqliteAdapter, type Kysely, type Selectable } from "kysely";
import type { AuthenticatorStore } from "../../app/ports.js";
import type { AuthenticatorRecord } from "../../app/records.js";
import type { AuthenticatorsTable, Database } from "./database.js";
import { queryTemplate } from "./query-template.js";
import { countFailure } from "./failure-count.js";
import { toTimeText } from "./time-text.js";

// Every TOTP verification reads the authenticator twice and sets its step once: compiled once
// each (query-template.ts).
const selectAuthenticator = queryTemplate<
  Selectable<AuthenticatorsTable>,
  [string, string, string]
>(3, (db, tenant, principal, id) =>
  db
    .selectFrom("authenticators")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("principal", "=", principal)
    .where("id", "=", id),
);
// One conditional UPDATE: the row lock (PostgreSQL) or the write lock (SQLite) makes the second
// of two concurrent submissions of one step see the first one's step and match nothing.
const acceptStep = queryTemplate<
  Selectable<AuthenticatorsTable>,
  [number, string, string, string, string]
>(5, (db, step, at, tenant, principal, id) =>
  db
    .updateTable("authenticators")
    .set({ last_step: step, failed_attempts: 0, last_used_at: at })
    .where("tenant", "=", tenant)
    .where("principal", "=", principal)
    .where("id", "=", id)
    // A literal, as 0022's partial index names the column (partial-index-literals.test.ts).
    .where("status", "=", sql.lit("active"))
    .where("locked_at", "is", null)
    .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", step)]))
    .returningAll(),
);

/**
 * Up to `limit` pending authenticators begun at or before `begunBy`, oldest first, found through
 * the partial index of pending ones by age (0022): the status is written as a literal, as the
 * index's predicate is, so that either planner may use it. On PostgreSQL only rows it can lock
 * at once: one a confirmation or a begin holds is skipped, never waited for, so the purge waits
 * for no row while holding others (it takes the audit chain's head after them). SQLite's writers
 * are serial.
 */
function purgeablePending(db: Kysely<Database>, begunBy: string, limit: number) {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const row = sqlite ? sql<string>`rowid` : sql<string>`ctid`;
  const rows = db
    .selectFrom("authenticators")
    .select(row.as("row"))
    .where("status", "=", sql.lit("pending"))
    .where("created_at", "<=", begunBy)
    .orderBy("created_at")
    .orderBy("id")
    .limit(limit);
  return db
    .deleteFrom("authenticators")
    .where(row, "in", sqlite ? rows : rows.forUpdate().skipLocked())
    .where("status", "=", sql.lit("pending"))
    .where("created_at", "<=", begunBy)
    .returningAll();
}

export function createAuthenticatorRepository(db: Kysely<Database>): AuthenticatorStore {
  const one = (tenant: string, principal: string, id: string) =>
    db
      .updateTable("authenticators")
      .where("tenant", "=", tenant)
      .where("principal", "=", principal)
      .where("id", "=", id);

  return {
    async get(tenant, principal, id) {
      const [row] = (await selectAuthenticator(db, tenant, principal, id)).rows;
      return row === undefined ? undefined : toAuthenticator(row);
    },

    async list(tenant, principal) {
      const rows = await db
        .selectFrom("authenticators")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toAuthenticator);
    },

    async insert(record) {
      await db
        .insertInto("authenticators")
        .values({
          tenant: record.tenant,
          principal: record.principal,
          id: record.id,
          kind: record.kind,
          name: record.name,
          status: record.status,
          sealed_secret: record.sealedSecret,
          algorithm: record.totp.algorithm,
          digits: record.totp.digits,
          period: record.totp.period,
          last_step: record.lastStep ?? null,
          failed_attempts: record.failedAttempts,
          locked_at: optionalTime(record.lockedAt, "lockedAt"),
          created_at: toTimeText(record.createdAt, "createdAt"),
          confirmed_at: optionalTime(record.confirmedAt, "confirmedAt"),
          last_used_at: optionalTime(record.lastUsedAt, "lastUsedAt"),
        })
        .execute();
    },

    async activate(tenant, principal, id, step, at) {
      const time = toTimeText(at, "at");
      const updated = await one(tenant, principal, id)
        .set({
          status: "active",
          last_step: step,
          failed_attempts: 0,
          confirmed_at: time,
          last_used_at: time,
        })
        .where("status", "=", sql.lit("pending"))
        .where("locked_at", "is", null)
        .returningAll()
        .executeTakeFirst();
      return updated === undefined ? undefined : toAuthenticator(updated);
    },

    async acceptStep(tenant, principal, id, step, at) {
      const [row] = (await acceptStep(db, step, toTimeText(at, "at"), tenant, principal, id)).rows;
      return row === undefined ? undefined : toAuthenticator(row);
    },

    async recordFailure(tenant, principal, id, limit, at) {
      return countFailure(one(tenant, principal, id), limit, at);
    },

    async unlockAll(tenant, principal) {
      const rows = await db
        .updateTable("authenticators")
        .set({ failed_attempts: 0, locked_at: null })
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where((eb) => eb.or([eb("failed_attempts", ">", 0), eb("locked_at", "is not", null)]))
        .returning("id")
        .execute();
      return rows.map((row) => row.id).sort();
    },

    async listTenant(tenant) {
      const rows = await db
        .selectFrom("authenticators")
        .selectAll()
        .where("tenant", "=", tenant)
        .orderBy("principal")
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toAuthenticator);
    },

    async reseal(tenant, principal, id, from, to) {
      const updated = await one(tenant, principal, id)
        .set({ sealed_secret: to })
        .where("sealed_secret", "=", from)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async purgePending(begunBy, limit) {
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new RangeError(`limit must be a positive integer: ${String(limit)}`);
      }
      const rows = await purgeablePending(db, toTimeText(begunBy, "begunBy"), limit).execute();
      // RETURNING follows no order: sorted as the rows were chosen (text order, as stored).
      const order = (row: { created_at: string; id: string }) => `${row.created_at} ${row.id}`;
      return rows
        .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
        .map(toAuthenticator);
    },

    async remove(tenant, principal, id) {
      const deleted = await db
        .deleteFrom("authenticators")
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where("id", "=", id)
        .executeTakeFirst();
      return deleted.numDeletedRows === 1n;
    },
  };
}

const optionalTime = (value: string | undefined, field: string): string | null =>
  value === undefined ? null : toTimeText(value, field);

function toAuthenticator(row: Selectable<AuthenticatorsTable>): AuthenticatorRecord {
  return {
    tenant: row.tenant,
    principal: row.principal,
    id: row.id,
    kind: "totp",
    name: row.name,
    status: row.status as AuthenticatorRecord["status"],
    sealedSecret: row.sealed_secret,
    totp: {
      algorithm: row.algorithm as AuthenticatorRecord["totp"]["algorithm"],
      digits: row.digits as AuthenticatorRecord["totp"]["digits"],
      period: row.period,
    },
    ...(row.last_step === null ? {} : { lastStep: row.last_step }),
    failedAttempts: row.failed_attempts,
    ...(row.locked_at === null ? {} : { lockedAt: row.locked_at }),
    createdAt: row.created_at,
    ...(row.confirmed_at === null ? {} : { confirmedAt: row.confirmed_at }),
    ...(row.last_used_at === null ? {} : { lastUsedAt: row.last_used_at }),
  };
}
