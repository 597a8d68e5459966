import type { Kysely } from "kysely";
import type { OneTimeProofStore } from "../../app/ports.js";
import type { Database } from "./database.js";
import { toTimeText } from "./time-text.js";

export function createOneTimeProofRepository(db: Kysely<Database>): OneTimeProofStore {
  return {
    // The primary key does the work, in one statement, across every instance sharing the store.
    async claim(scope, key, expiresAt) {
      const inserted = await db
        .insertInto("one_time_proofs")
        .values({ scope, key, expires_at: toTimeText(expiresAt, "expiresAt") })
        .onConflict((conflict) => conflict.columns(["scope", "key"]).doNothing())
        .returning("key")
        .executeTakeFirst();
      return inserted !== undefined;
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
