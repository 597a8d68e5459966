import type { Kysely, Selectable } from "kysely";
import type { FederationRequestStore } from "../../app/ports.js";
import type { FederationRequestRecord } from "../../app/records.js";
import type { Database, FederationRequestsTable } from "./database.js";
import { federationRequestRow, fromRowJsonText, toJsonText } from "./json-text.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

// Every federated sign-in stores its request, reads it on the answer and consumes it once:
// compiled once each.
const insertRequest = queryTemplate<unknown, [string, string, string, string, string]>(
  5,
  (db, id, tenant, idp, document, expiresAt) =>
    db.insertInto("federation_requests").values({
      id,
      tenant,
      idp,
      document,
      expires_at: expiresAt,
      consumed_at: null,
    }),
);
const selectRequest = queryTemplate<Selectable<FederationRequestsTable>, [string]>(1, (db, id) =>
  db.selectFrom("federation_requests").selectAll().where("id", "=", id),
);
const consumeRequest = queryTemplate<unknown, [string, string]>(2, (db, at, id) =>
  db
    .updateTable("federation_requests")
    .set({ consumed_at: at })
    .where("id", "=", id)
    .where("consumed_at", "is", null),
);

export function createFederationRequestRepository(db: Kysely<Database>): FederationRequestStore {
  return {
    async insert(record) {
      const { consumedAt: _consumed, ...document } = record;
      await insertRequest(
        db,
        record.id,
        record.tenant,
        record.idp,
        toJsonText(document),
        toTimeText(record.expiresAt, "expiresAt"),
      );
    },

    async get(id) {
      const [row] = (await selectRequest(db, id)).rows;
      if (row === undefined) return undefined;
      const record = toRequest(row);
      return row.consumed_at === null ? record : { ...record, consumedAt: row.consumed_at };
    },

    // One conditional UPDATE: of two answers racing for the same request, exactly one wins.
    async consume(id, at) {
      const updated = await consumeRequest(db, toTimeText(at, "at"), id);
      return updated.numAffectedRows === 1n;
    },

    async listPending(at) {
      const rows = await db
        .selectFrom("federation_requests")
        .selectAll()
        .where("consumed_at", "is", null)
        .where("expires_at", ">", toTimeText(at, "at"))
        .orderBy("tenant")
        .orderBy("id")
        .execute();
      return rows.map(toRequest);
    },

    // Compare-and-set on the whole stored document (which holds the sealed verifier `from`) and
    // on the request being unconsumed, in one UPDATE that never touches `consumed_at`: a request
    // answered or purged meanwhile is left as it is, and one answered after it is answered once.
    async resealCodeVerifier(id, from, to) {
      const [row] = (await selectRequest(db, id)).rows;
      if (row === undefined || row.consumed_at !== null) return false;
      const record = toRequest(row);
      if (record.sealedCodeVerifier !== from) return false;
      const updated = await db
        .updateTable("federation_requests")
        .set({ document: toJsonText({ ...record, sealedCodeVerifier: to }) })
        .where("id", "=", id)
        .where("document", "=", row.document)
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

/** The request `row` holds (less `consumedAt`, which has its own column). */
function toRequest(row: Selectable<FederationRequestsTable>): FederationRequestRecord {
  return fromRowJsonText(row.document, federationRequestRow(row.id)) as FederationRequestRecord;
}
