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

// One statement: the primary key's conflict makes concurrent claimers of one key queue on its row
// (PostgreSQL) or the write lock (SQLite), and each after the first finds the first's record in
// force, so the update's condition holds for none of them.
const claimLapsed = queryTemplate<{ key: string }, [string, string, string, string, string]>(
  5,
  (db, scope, key, expiresAt, after, until) =>
    db
      .insertInto("one_time_proofs")
      .values({ scope, key, expires_at: expiresAt })
      .onConflict((conflict) =>
        conflict
          .columns(["scope", "key"])
          .doUpdateSet({ expires_at: expiresAt })
          .where((eb) =>
            eb.or([
              eb("one_time_proofs.expires_at", "<=", after),
              eb("one_time_proofs.expires_at", ">", until),
            ]),
          ),
      )
      .returning("key"),
);

// Read for every exchange of a code that names no flow: compiled once.
const selectInForce = queryTemplate<{ key: string }, [string, string, string, string]>(
  4,
  (db, scope, key, after, until) =>
    db
      .selectFrom("one_time_proofs")
      .select("key")
      .where("scope", "=", scope)
      .where("key", "=", key)
      .where("expires_at", ">", after)
      .where("expires_at", "<=", until),
);

export function createOneTimeProofRepository(db: Kysely<Database>): OneTimeProofStore {
  return {
    // The primary key does the work, in one statement, across every instance sharing the store.
    async claim(scope, key, expiresAt) {
      const { rows } = await insertProof(db, scope, key, toTimeText(expiresAt, "expiresAt"));
      return rows.length === 1;
    },

    async claimLapsed(scope, key, expiresAt, inForce) {
      const { rows } = await claimLapsed(
        db,
        scope,
        key,
        toTimeText(expiresAt, "expiresAt"),
        toTimeText(inForce.after, "after"),
        toTimeText(inForce.until, "until"),
      );
      return rows.length === 1;
    },

    async isInForce(scope, key, inForce) {
      const { rows } = await selectInForce(
        db,
        scope,
        key,
        toTimeText(inForce.after, "after"),
        toTimeText(inForce.until, "until"),
      );
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
