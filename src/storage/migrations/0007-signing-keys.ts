import type { Kysely, Migration } from "kysely";

/**
 * Assurance-token signing keys, platform-wide: the public JWK, the private one sealed, and the
 * times that drive rotation. A scheduled successor names the key it succeeds, once: instances
 * rotating together agree on one successor.
 */
export const signingKeysMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("signing_keys")
      .addColumn("kid", "text", (column) => column.primaryKey())
      .addColumn("alg", "text", (column) => column.notNull())
      .addColumn("public_jwk", "text", (column) => column.notNull())
      .addColumn("sealed_private_jwk", "text", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("activates_at", "text", (column) => column.notNull())
      .addColumn("successor_of", "text", (column) => column.unique())
      .addColumn("retires_at", "text", (column) => column.notNull())
      .addColumn("removed_at", "text", (column) => column.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("signing_keys").execute();
  },
};
