import type { Kysely } from "kysely";
import type { FederationRequestStore } from "../../app/ports.js";
import type { FederationRequestRecord } from "../../app/records.js";
import type { Database } from "./database.js";
import { fromJsonText, toJsonText } from "./json-text.js";
import { toTimeText } from "./time-text.js";

export function createFederationRequestRepository(db: Kysely<Database>): FederationRequestStore {
  return {
    async insert(record) {
      const { consumedAt: _consumed, ...document } = record;
      await db
        .insertInto("federation_requests")
        .values({
          id: record.id,
          tenant: record.tenant,
          idp: record.idp,
          document: toJsonText(document),
          expires_at: toTimeText(record.expiresAt, "expiresAt"),
          consumed_at: null,
        })
        .execute();
    },

    async get(id) {
      const row = await db
        .selectFrom("federation_requests")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const record = fromJsonText(row.document) as FederationRequestRecord;
      return row.consumed_at === null ? record : { ...record, consumedAt: row.consumed_at };
    },

    // One conditional UPDATE: of two answers racing for the same request, exactly one wins.
    async consume(id, at) {
      const updated = await db
        .updateTable("federation_requests")
        .set({ consumed_at: toTimeText(at, "at") })
        .where("id", "=", id)
        .where("consumed_at", "is", null)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async purge(before) {
      const deleted = await db
        .deleteFrom("federation_requests")
        .where("expires_at", "<", toTimeText(before, "before"))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}
