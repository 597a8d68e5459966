import type { Kysely, Migration } from "kysely";

/**
 * Which trusted root a WebAuthn credential's attestation chained to (its certificate's SHA-256
 * fingerprint), so that a credential counts as attested only while the operator still trusts
 * that root. Credentials marked attested before name no root, so they are no longer attested:
 * a device-bound one counts as AAL2 until its principal registers it again.
 */
export const webauthnAttestationRootMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("webauthn_credentials")
      .addColumn("attestation_root", "text")
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("webauthn_credentials").dropColumn("attestation_root").execute();
  },
};
