import { sql, type Kysely, type Migration } from "kysely";

/**
 * A removed IdP leaves its row as a tombstone (`removed` 1, its settings and sealed secret
 * cleared) that keeps the last version, so that registering the id again continues from it.
 * Restarting at 1 would let one version name two registrations: an `If-Match` kept from the
 * removed registration would replace the new one unseen (ABA), and audit events and receipts
 * citing "version 1" would be ambiguous. Rows present before are live registrations.
 */
export const idpTombstonesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("idps")
      .addColumn("removed", "integer", (column) => column.notNull().defaultTo(0))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    // Without the column a tombstone would read as a live registration with no settings.
    await sql`delete from idps where removed = 1`.execute(db);
    await db.schema.alterTable("idps").dropColumn("removed").execute();
  },
};
