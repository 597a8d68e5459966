import type { Kysely, Migration } from "kysely";

/**
 * Flows gain an index by tenant and principal: when a principal's authenticator is removed or its
 * recovery codes are revoked or replaced, the flows it still has open forget what was verified in
 * them (`FlowStore.unspentOf`), found through this index rather than by reading every live flow.
 */
export const flowsByPrincipalMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex("flows_tenant_principal")
      .on("flows")
      .columns(["tenant", "principal"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("flows_tenant_principal").execute();
  },
};
