import type { Kysely, Migration } from "kysely";

/**
 * WebAuthn on the platform: a principal's credentials (credential id unique per tenant), the
 * challenges of ceremonies in progress (used once, then deleted), and each tenant's settings.
 */
export const webauthnMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("webauthn_credentials")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("principal", "text", (column) => column.notNull())
      .addColumn("id", "text", (column) => column.notNull())
      .addColumn("credential_id", "text", (column) => column.notNull())
      .addColumn("name", "text", (column) => column.notNull())
      .addColumn("public_key", "text", (column) => column.notNull())
      .addColumn("algorithm", "integer", (column) => column.notNull())
      // A 32-bit unsigned counter does not fit PostgreSQL's integer.
      .addColumn("sign_count", "bigint", (column) => column.notNull())
      .addColumn("transports", "text", (column) => column.notNull())
      .addColumn("aaguid", "text", (column) => column.notNull())
      .addColumn("backup_eligible", "integer", (column) => column.notNull())
      .addColumn("backup_state", "integer", (column) => column.notNull())
      .addColumn("device_type", "text", (column) => column.notNull())
      .addColumn("user_verified", "integer", (column) => column.notNull())
      .addColumn("failed_attempts", "integer", (column) => column.notNull().defaultTo(0))
      .addColumn("locked_at", "text")
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("last_used_at", "text")
      .addPrimaryKeyConstraint("webauthn_credentials_pk", ["tenant", "principal", "id"])
      .addUniqueConstraint("webauthn_credentials_credential_id", ["tenant", "credential_id"])
      .execute();

    await db.schema
      .createTable("webauthn_challenges")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("id", "text", (column) => column.notNull())
      .addColumn("purpose", "text", (column) => column.notNull())
      .addColumn("principal", "text", (column) => column.notNull())
      .addColumn("challenge", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("expires_at", "text", (column) => column.notNull())
      .addPrimaryKeyConstraint("webauthn_challenges_pk", ["tenant", "id"])
      .execute();
    await db.schema
      .createIndex("webauthn_challenges_expiry")
      .on("webauthn_challenges")
      .column("expires_at")
      .execute();

    await db.schema
      .createTable("webauthn_settings")
      .addColumn("tenant", "text", (column) => column.primaryKey().references("tenants.id"))
      .addColumn("document", "text", (column) => column.notNull())
      .addColumn("updated_at", "text", (column) => column.notNull())
      .addColumn("updated_by", "text", (column) => column.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("webauthn_settings").execute();
    await db.schema.dropTable("webauthn_challenges").execute();
    await db.schema.dropTable("webauthn_credentials").execute();
  },
};
