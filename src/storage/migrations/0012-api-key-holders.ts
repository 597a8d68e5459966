import type { Kysely, Migration } from "kysely";

/**
 * API keys gain `holder`, the person or system accountable for the key, so that separation of
 * duties compares parties rather than keys (one person holding a requester's key and an
 * approver's key is still one person), and `audiences`, the assurance-token audiences a
 * `platform_service` key may ask for (a JSON list). Both stay null for keys made before: such a
 * key is its own holder and may name any audience, as before.
 */
export const apiKeyHoldersMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("api_keys").addColumn("holder", "text").execute();
    await db.schema.alterTable("api_keys").addColumn("audiences", "text").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("api_keys").dropColumn("audiences").execute();
    await db.schema.alterTable("api_keys").dropColumn("holder").execute();
  },
};
