import type { Kysely, Migration } from "kysely";

/**
 * Verification throttles: per tenant, one row per throttle key (`principal:<id>` or
 * `client:<address>`) with its consecutive failures, when the next attempt is allowed, the lock
 * of a principal that failed too often (and when it lapses), and the last failure and success.
 */
export const verificationThrottlesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("verification_throttles")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("throttle_key", "text", (column) => column.notNull())
      .addColumn("consecutive_failures", "integer", (column) => column.notNull().defaultTo(0))
      .addColumn("next_attempt_at", "text")
      .addColumn("locked_at", "text")
      .addColumn("lock_expires_at", "text")
      .addColumn("last_failure_at", "text")
      .addColumn("last_success_at", "text")
      .addPrimaryKeyConstraint("verification_throttles_pk", ["tenant", "throttle_key"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("verification_throttles").execute();
  },
};
