import type { Kysely, Selectable } from "kysely";
import { UnreadableRecord, type MandateStore } from "../../app/ports.js";
import type { MandateVersionRecord } from "../../app/records.js";
import type { PlatformMandate } from "../../core/policy.js";
import type { Database, MandateVersionsTable } from "./database.js";
import { fromCheckedJsonText, toJsonText } from "./json-text.js";
import { literalLimit } from "./page.js";
import { toTimeText } from "./time-text.js";
import { findUnreadableRows } from "./unreadable-rows.js";

export function createMandateRepository(db: Kysely<Database>): MandateStore {
  return {
    async listCurrent() {
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
