import type { Kysely, Migration } from "kysely";

/**
 * Drops `audit_events_tenant_at`: no query reads audit events by tenant and time (the log is read
 * chain by chain, and a tenant's chain is named by the tenant), yet every append paid for the
 * index. With many tenants each append updates the indexes at a place of its own chain, so every
 * index is a page more to write per decision.
 */
export const auditIndexesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("audit_events_tenant_at").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex("audit_events_tenant_at")
      .on("audit_events")
      .columns(["tenant", "at"])
      .execute();
  },
};
