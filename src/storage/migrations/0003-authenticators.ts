import type { Kysely, Migration } from "kysely";

/**
 * Authenticators on the platform: a principal's TOTP credentials, each with its sealed secret,
 * its parameters, the last time step accepted and its failure count.
 */
export const authenticatorsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("authenticators")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("principal", "text", (column) => column.notNull())
      .addColumn("id", "text", (column) => column.notNull())
      .addColumn("kind", "text", (column) => column.notNull())
      .addColumn("name", "text", (column) => column.notNull())
      .addColumn("status", "text", (column) => column.notNull())
      .addColumn("sealed_secret", "text", (column) => column.notNull())
      .addColumn("algorithm", "text", (column) => column.notNull())
      .addColumn("digits", "integer", (column) => column.notNull())
      .addColumn("period", "integer", (column) => column.notNull())
      .addColumn("last_step", "integer")
      .addColumn("failed_attempts", "integer", (column) => column.notNull().defaultTo(0))
      .addColumn("locked_at", "text")
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("confirmed_at", "text")
      .addColumn("last_used_at", "text")
      .addPrimaryKeyConstraint("authenticators_pk", ["tenant", "principal", "id"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("authenticators").execute();
  },
};
