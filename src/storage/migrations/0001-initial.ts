import type { Kysely, Migration } from "kysely";

/**
 * The first schema. Column types are the ones both dialects share (`text`, `integer`): JSON and
 * times are TEXT so that SQLite and PostgreSQL store byte-identical values. Every tenant-owned
 * table's key starts with the tenant id.
 */
export const initialMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("tenants")
      .addColumn("id", "text", (column) => column.primaryKey())
      .addColumn("name", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .execute();

    await db.schema
      .createTable("policy_versions")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("version", "integer", (column) => column.notNull())
      .addColumn("policy", "text", (column) => column.notNull())
      .addColumn("rationale", "text", (column) => column.notNull())
      .addColumn("actor", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("rollback_of", "integer")
      .addPrimaryKeyConstraint("policy_versions_pk", ["tenant", "version"])
      .execute();

    await db.schema
      .createTable("mandate_versions")
      .addColumn("id", "text", (column) => column.notNull())
      .addColumn("version", "integer", (column) => column.notNull())
      .addColumn("mandate", "text", (column) => column.notNull())
      .addColumn("status", "text", (column) => column.notNull())
      .addColumn("rationale", "text", (column) => column.notNull())
      .addColumn("actor", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addPrimaryKeyConstraint("mandate_versions_pk", ["id", "version"])
      .execute();

    await db.schema
      .createTable("principals")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("id", "text", (column) => column.notNull())
      .addColumn("external_id", "text")
      .addColumn("population", "text", (column) => column.notNull())
      .addColumn("display_name", "text")
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("updated_at", "text", (column) => column.notNull())
      .addPrimaryKeyConstraint("principals_pk", ["tenant", "id"])
      .execute();

    // No foreign key to principals: an exemption may name a principal not yet seen at sign-in.
    await db.schema
      .createTable("exemptions")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("id", "text", (column) => column.notNull())
      .addColumn("principal", "text", (column) => column.notNull())
      .addColumn("category", "text", (column) => column.notNull())
      .addColumn("status", "text", (column) => column.notNull())
      .addColumn("starts_at", "text", (column) => column.notNull())
      .addColumn("expires_at", "text", (column) => column.notNull())
      .addColumn("requested_by", "text", (column) => column.notNull())
      .addColumn("approved_by", "text")
      .addColumn("owner", "text", (column) => column.notNull())
      .addColumn("justification", "text", (column) => column.notNull())
      .addColumn("review_at", "text", (column) => column.notNull())
      .addColumn("renewal_of", "text")
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("decided_by", "text")
      .addColumn("decided_at", "text")
      .addPrimaryKeyConstraint("exemptions_pk", ["tenant", "id"])
      .execute();
    await db.schema
      .createIndex("exemptions_tenant_principal")
      .on("exemptions")
      .columns(["tenant", "principal"])
      .execute();
    await db.schema
      .createIndex("exemptions_tenant_status")
      .on("exemptions")
      .columns(["tenant", "status"])
      .execute();

    // Receipts are evidence: no foreign key, so a decision about an unknown tenant is still kept.
    await db.schema
      .createTable("receipts")
      .addColumn("id", "text", (column) => column.primaryKey())
      .addColumn("tenant", "text", (column) => column.notNull())
      .addColumn("principal", "text", (column) => column.notNull())
      .addColumn("outcome", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("decision", "text", (column) => column.notNull())
      .addColumn("input_summary", "text", (column) => column.notNull())
      .execute();
    await db.schema
      .createIndex("receipts_tenant_created_at")
      .on("receipts")
      .columns(["tenant", "created_at"])
      .execute();

    await db.schema
      .createTable("api_keys")
      .addColumn("id", "text", (column) => column.primaryKey())
      .addColumn("name", "text", (column) => column.notNull())
      .addColumn("secret_hash", "text", (column) => column.notNull().unique())
      .addColumn("roles", "text", (column) => column.notNull())
      .addColumn("tenants", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("created_by", "text", (column) => column.notNull())
      .addColumn("expires_at", "text")
      .addColumn("revoked_at", "text")
      .execute();

    await db.schema
      .createTable("audit_events")
      .addColumn("chain", "text", (column) => column.notNull())
      .addColumn("seq", "integer", (column) => column.notNull())
      .addColumn("id", "text", (column) => column.notNull().unique())
      .addColumn("tenant", "text")
      .addColumn("type", "text", (column) => column.notNull())
      .addColumn("actor", "text", (column) => column.notNull())
      .addColumn("at", "text", (column) => column.notNull())
      .addColumn("payload", "text", (column) => column.notNull())
      .addColumn("prev_hash", "text", (column) => column.notNull())
      .addColumn("hash", "text", (column) => column.notNull())
      .addPrimaryKeyConstraint("audit_events_pk", ["chain", "seq"])
      .execute();
    await db.schema
      .createIndex("audit_events_chain_type")
      .on("audit_events")
      .columns(["chain", "type", "seq"])
      .execute();
    await db.schema
      .createIndex("audit_events_chain_at")
      .on("audit_events")
      .columns(["chain", "at"])
      .execute();
    await db.schema
      .createIndex("audit_events_tenant_at")
      .on("audit_events")
      .columns(["tenant", "at"])
      .execute();

    await db.schema
      .createTable("audit_heads")
      .addColumn("chain", "text", (column) => column.primaryKey())
      .addColumn("seq", "integer", (column) => column.notNull())
      .addColumn("hash", "text", (column) => column.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      "audit_heads",
      "audit_events",
      "api_keys",
      "receipts",
      "exemptions",
      "principals",
      "mandate_versions",
      "policy_versions",
      "tenants",
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
