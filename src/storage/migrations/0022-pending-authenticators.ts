import { sql, type Kysely, type Migration } from "kysely";

/**
 * Pending authenticators (TOTP enrolments never confirmed) gain a partial index by age, through
 * which the purge of those past their time finds them without reading every authenticator: it
 * holds the pending ones only, a few per principal at most. Its predicate is a literal, and the
 * purge's query repeats it (authenticator-repository.ts), which is what lets either planner use
 * it.
 */
export const pendingAuthenticatorsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex("authenticators_pending_created_at")
      .on("authenticators")
      .columns(["created_at", "id"])
      .where(sql.ref("status"), "=", sql.lit("pending"))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("authenticators_pending_created_at").execute();
  },
};
