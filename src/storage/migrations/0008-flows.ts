import type { Kysely, Migration } from "kysely";

/**
 * Hosted flows and browser sessions. A flow keeps as columns what queries select or compare on
 * (its tenant, status, version for compare-and-set, the one-time code's hash, expiry) and the rest
 * as one JSON document. A browser session is unique per tenant, principal and browser. Tenants
 * gain an optional logo URL for the hosted pages.
 */
export const flowsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("flows")
      .addColumn("id", "text", (column) => column.primaryKey())
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("principal", "text", (column) => column.notNull())
      // Unique, and so indexed: the code exchange finds its flow by this alone. Both dialects
      // allow any number of NULLs (flows with no code yet) under a unique constraint.
      .addColumn("code_hash", "text", (column) => column.unique())
      .addColumn("status", "text", (column) => column.notNull())
      .addColumn("version", "integer", (column) => column.notNull())
      .addColumn("expires_at", "text", (column) => column.notNull())
      .addColumn("document", "text", (column) => column.notNull())
      .execute();
    await db.schema.createIndex("flows_expires_at").on("flows").column("expires_at").execute();

    await db.schema
      .createTable("browser_sessions")
      .addColumn("id", "text", (column) => column.primaryKey())
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("principal", "text", (column) => column.notNull())
      .addColumn("browser_hash", "text", (column) => column.notNull())
      .addColumn("events", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("last_active_at", "text", (column) => column.notNull())
      .addColumn("expires_at", "text", (column) => column.notNull())
      .addUniqueConstraint("browser_sessions_browser", ["tenant", "principal", "browser_hash"])
      .execute();
    await db.schema
      .createIndex("browser_sessions_expires_at")
      .on("browser_sessions")
      .column("expires_at")
      .execute();

    await db.schema.alterTable("tenants").addColumn("logo_url", "text").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("tenants").dropColumn("logo_url").execute();
    await db.schema.dropTable("browser_sessions").execute();
    await db.schema.dropTable("flows").execute();
  },
};
