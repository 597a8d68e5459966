import { sql, type Kysely, type Migration } from "kysely";

/**
 * Verification throttles gain an index on each row's last activity (its later failure or
 * success, '' for neither), through which the purge finds rows that hold nothing without reading
 * the whole table. Both dialects index the expression; the purge's query repeats it exactly
 * (verification-throttle-repository.ts), which is what makes either planner use it.
 */
export const verificationThrottleActivityMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex("verification_throttles_last_activity")
      .on("verification_throttles")
      .expression(
        sql`(CASE WHEN coalesce(last_failure_at, '') > coalesce(last_success_at, '') THEN coalesce(last_failure_at, '') ELSE coalesce(last_success_at, '') END)`,
      )
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("verification_throttles_last_activity").execute();
  },
};
