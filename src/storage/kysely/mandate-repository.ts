import { sql, type Kysely, type Selectable } from "kysely";
import { UnreadableRecord, type MandateStore } from "../../app/ports.js";
import type { MandateVersionRecord } from "../../app/records.js";
import type { PlatformMandate } from "../../core/policy.js";
import type { Database, MandateVersionsTable } from "./database.js";
import { fromCheckedJsonText, toJsonText } from "./json-text.js";
import { literalLimit } from "./page.js";
import { toTimeText } from "./time-text.js";
import { findUnreadableRows } from "./unreadable-rows.js";

/**
 * The transaction-level advisory lock that serialises new mandate versions with the checks that
 * hold the mandates in force (`holdCurrent`). Its key is the bytes of "tmfamand": any fixed key
 * would do that no other lock on the database uses (Kysely's migration lock is
 * 3853314791062309107).
 */
const MANDATE_VERSIONS_LOCK = sql.lit(0x746d66616d616e64n);

/**
 * The mandate versions stored through `db`. With `lockRows` (PostgreSQL, whose transactions run
 * side by side) `holdCurrent` takes the mandates' advisory lock shared and `insert` takes it
 * exclusively; SQLite's write transactions are serial and need neither.
 */
export function createMandateRepository(
  db: Kysely<Database>,
  options: { readonly lockRows: boolean },
): MandateStore {
  const listCurrent = async (): Promise<readonly MandateVersionRecord[]> => {
    const rows = await db
      .selectFrom("mandate_versions as m")
      .selectAll()
      .where("m.version", "=", (eb) =>
        eb
          .selectFrom("mandate_versions as newer")
          .select((max) => max.fn.max("newer.version").as("version"))
          .whereRef("newer.id", "=", "m.id"),
      )
      .orderBy("m.id")
      .execute();
    return rows.map(toMandateVersion);
  };
  return {
    listCurrent,

    // Under READ COMMITTED the read after the lock is a new statement with a new snapshot: it sees
    // the version of every writer that held the lock before, which commits before it lets go.
    async holdCurrent() {
      if (options.lockRows) {
        await sql`select pg_advisory_xact_lock_shared(${MANDATE_VERSIONS_LOCK})`.execute(db);
      }
      return listCurrent();
    },

    async current(id) {
      const row = await db
        .selectFrom("mandate_versions")
        .selectAll()
        .where("id", "=", id)
        .orderBy("version", "desc")
        .limit(literalLimit(1))
        .executeTakeFirst();
      return row === undefined ? undefined : toMandateVersion(row);
    },

    // Newest first, as PolicyStore.history is.
    async history(id) {
      const rows = await db
        .selectFrom("mandate_versions")
        .selectAll()
        .where("id", "=", id)
        .orderBy("version", "desc")
        .execute();
      return rows.map(toMandateVersion);
    },

    async listUnreadable() {
      const rows = await db
        .selectFrom("mandate_versions")
        .selectAll()
        .orderBy("id")
        .orderBy("version")
        .execute();
      return findUnreadableRows(rows, toMandateVersion);
    },

    async insert(record) {
      if (options.lockRows) {
        await sql`select pg_advisory_xact_lock(${MANDATE_VERSIONS_LOCK})`.execute(db);
      }
      const inserted = await db
        .insertInto("mandate_versions")
        .values({
          id: record.id,
          version: record.version,
          mandate: toJsonText(record.mandate),
          status: record.status,
          rationale: record.rationale,
          actor: record.actor,
          created_at: toTimeText(record.createdAt, "createdAt"),
        })
        .onConflict((conflict) => conflict.columns(["id", "version"]).doNothing())
        .returning("version")
        .executeTakeFirst();
      return inserted !== undefined;
    },
  };
}

function toMandateVersion(row: Selectable<MandateVersionsTable>): MandateVersionRecord {
  return {
    id: row.id,
    version: row.version,
    mandate: fromCheckedJsonText(
      row.mandate,
      () =>
        new UnreadableRecord({
          kind: "row",
          table: "mandate_versions",
          id: row.id,
          version: row.version,
        }),
    ) as PlatformMandate,
    status: row.status as MandateVersionRecord["status"],
    rationale: row.rationale,
    actor: row.actor,
    createdAt: row.created_at,
  };
}
