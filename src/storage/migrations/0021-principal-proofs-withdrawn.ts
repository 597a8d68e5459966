import type { Kysely, Migration } from "kysely";

/**
 * When a principal's proofs were last withdrawn (an authenticator removed, its recovery codes
 * revoked or replaced): a verification recorded at or before it no longer counts in a decision.
 * Principals before have none withdrawn.
 */
export const principalProofsWithdrawnMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").addColumn("proofs_withdrawn_at", "text").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").dropColumn("proofs_withdrawn_at").execute();
  },
};
