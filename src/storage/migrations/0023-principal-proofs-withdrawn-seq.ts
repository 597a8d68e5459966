import type { Kysely, Migration } from "kysely";

/**
 * Where in the tenant's audit chain a principal's proofs were last withdrawn: the position of the
 * withdrawal's own audit event. A verification recorded below it no longer counts in a decision,
 * whatever the instances' clocks said. Principals withdrawn before keep their instant
 * (`proofs_withdrawn_at`, 0021), which a decision compares by time instead.
 */
export const principalProofsWithdrawnSeqMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").addColumn("proofs_withdrawn_seq", "integer").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").dropColumn("proofs_withdrawn_seq").execute();
  },
};
