import type { Kysely } from "kysely";
import type { OneTimeProofStore } from "../../app/ports.js";
import type { Database } from "./database.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

// Claimed for every verified assertion or nonce: compiled once.
const insertProof = queryTemplate<{ key: string }, [string, string, string]>(
  3,
  (db, scope, key, expiresAt) =>
    db
      .insertInto("one_time_proofs")
      .values({ scope, key, expires_at: expiresAt })
      .onConflict((conflict) => conflict.columns(["scope", "key"]).doNothing())
      .returning("key"),
);

export function createOneTimeProofRepository(db: Kysely<Database>): OneTimeProofStore {
  return {
    // The primary key does the work, in one statement, across every instance sharing the store.
    async claim(scope, key, expiresAt) {
      const { rows } = await insertProof(db, scope, key, toTimeText(expiresAt, "expiresAt"));
      return rows.length === 1;
    },

    async purge(before) {
      const deleted = await db
        .deleteFrom("one_time_proofs")
        .where("expires_at", "<", toTimeText(before, "before"))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}
