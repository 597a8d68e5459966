import type { Kysely, Migration } from "kysely";

/**
 * Drops `receipts_tenant_created_at`: receipts are read by their id only (a decision's receipt,
 * `GET /v1/decisions/:id`; an auditor lists a tenant's decisions through its audit chain, whose
 * `decision.recorded` events name them), yet every decision paid for the index. With many
 * tenants each insert lands at a place of its own tenant's, a page more to write per decision.
 */
export const receiptIndexesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("receipts_tenant_created_at").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex("receipts_tenant_created_at")
      .on("receipts")
      .columns(["tenant", "created_at"])
      .execute();
  },
};
