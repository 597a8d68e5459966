import type { Kysely, Selectable } from "kysely";
import type { FederationAnswerStore } from "../../app/ports.js";
import type { FederationAnswerRecord } from "../../app/records.js";
import type { Database, FederationAnswersTable } from "./database.js";
import { fromRowJsonText, toJsonText } from "./json-text.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

// Every direct SAML sign-in holds its answer, reads it on the browser's return and claims it once:
// compiled once each.
const insertAnswer = queryTemplate<unknown, [string, string, string, string, string]>(
  5,
  (db, hash, tenant, idp, document, expiresAt) =>
    db.insertInto("federation_answers").values({
      hash,
      tenant,
      idp,
      document,
      expires_at: expiresAt,
      claimed_at: null,
    }),
);
const selectAnswer = queryTemplate<Selectable<FederationAnswersTable>, [string]>(1, (db, hash) =>
  db.selectFrom("federation_answers").selectAll().where("hash", "=", hash),
);
const claimAnswer = queryTemplate<unknown, [string, string]>(2, (db, at, hash) =>
  db
    .updateTable("federation_answers")
    .set({ claimed_at: at })
    .where("hash", "=", hash)
    .where("claimed_at", "is", null),
);

export function createFederationAnswerRepository(db: Kysely<Database>): FederationAnswerStore {
  return {
    async insert(record) {
      const { claimedAt: _claimed, ...document } = record;
      await insertAnswer(
        db,
        record.hash,
        record.tenant,
        record.idp,
        toJsonText(document),
        toTimeText(record.expiresAt, "expiresAt"),
      );
    },

    async get(hash) {
      const [row] = (await selectAnswer(db, hash)).rows;
      if (row === undefined) return undefined;
      const record = fromRowJsonText(row.document, {
        table: "federation_answers",
        id: row.hash,
      }) as FederationAnswerRecord;
      return row.claimed_at === null ? record : { ...record, claimedAt: row.claimed_at };
    },

    // One conditional UPDATE: of two claims racing for the same answer, exactly one wins.
    async claim(hash, at) {
      const updated = await claimAnswer(db, toTimeText(at, "at"), hash);
      return updated.numAffectedRows === 1n;
    },

    async purge(before) {
      const deleted = await db
        .deleteFrom("federation_answers")
        .where("expires_at", "<", toTimeText(before, "before"))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}
