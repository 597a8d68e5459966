import type { Kysely, Migration } from "kysely";

/**
 * Whether a principal is a login several people share (seed 001): no exemption excuses it.
 * Principals registered before are not marked.
 */
export const principalSharedLoginMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("principals")
      .addColumn("shared_login", "integer", (column) => column.notNull().defaultTo(0))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").dropColumn("shared_login").execute();
  },
};
