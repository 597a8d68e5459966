import type { Kysely, Migration } from "kysely";

/**
 * Verified SAML answers to direct sign-ins, held until the browser that started the sign-in
 * claims them with their one-time id (stored as its SHA-256 only): the ACS is a cross-site POST
 * that carries no SameSite=Lax cookie, so the answer completes on a same-origin GET that does
 * (login CSRF). Each is kept until it expires, claimed or not, as federation requests are.
 */
export const federationAnswersMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("federation_answers")
      .addColumn("hash", "text", (column) => column.primaryKey())
      .addColumn("tenant", "text", (column) => column.notNull())
      .addColumn("idp", "text", (column) => column.notNull())
      .addColumn("document", "text", (column) => column.notNull())
      .addColumn("expires_at", "text", (column) => column.notNull())
      .addColumn("claimed_at", "text")
      .execute();
    await db.schema
      .createIndex("federation_answers_expires_at")
      .on("federation_answers")
      .column("expires_at")
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("federation_answers").execute();
  },
};
