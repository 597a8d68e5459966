import type { Kysely, Migration } from "kysely";

/**
 * Whether a WebAuthn credential's attestation chained to a root the operator trusts. Credentials
 * registered before were never checked against a root (their attestation was not kept), so they
 * are not attested: a device-bound one that counted as AAL3 counts as AAL2 until the principal
 * registers an attested authenticator.
 */
export const webauthnAttestedMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("webauthn_credentials")
      .addColumn("attested", "integer", (column) => column.notNull().defaultTo(0))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("webauthn_credentials").dropColumn("attested").execute();
  },
};
