import type { Kysely, Migration } from "kysely";

/**
 * Recovery codes: one current set per principal with its failure count and lock, and the set's
 * codes, each a locator and a salted password hash, marked when used.
 */
export const recoveryCodesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("recovery_code_sets")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("principal", "text", (column) => column.notNull())
      .addColumn("id", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("failed_attempts", "integer", (column) => column.notNull().defaultTo(0))
      .addColumn("locked_at", "text")
      .addColumn("last_used_at", "text")
      .addPrimaryKeyConstraint("recovery_code_sets_pk", ["tenant", "principal"])
      .execute();

    await db.schema
      .createTable("recovery_codes")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("principal", "text", (column) => column.notNull())
      .addColumn("set_id", "text", (column) => column.notNull())
      .addColumn("locator", "text", (column) => column.notNull())
      .addColumn("hash", "text", (column) => column.notNull())
      .addColumn("used_at", "text")
      .addPrimaryKeyConstraint("recovery_codes_pk", ["tenant", "principal", "set_id", "locator"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("recovery_codes").execute();
    await db.schema.dropTable("recovery_code_sets").execute();
  },
};
