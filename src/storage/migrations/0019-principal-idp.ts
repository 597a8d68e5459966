import type { Kysely, Migration } from "kysely";

/**
 * The one IdP of its tenant whose answers may sign a principal in, if the tenant bound it to one.
 * Principals registered before are bound to none.
 */
export const principalIdpMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").addColumn("idp", "text").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("principals").dropColumn("idp").execute();
  },
};
