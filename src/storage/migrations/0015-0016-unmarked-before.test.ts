// Migrations 0015 (a WebAuthn credential's trusted attestation) and 0016 (a shared-login mark)
// add a flag to rows that exist already. Nothing was checked or marked before them: a credential
// registered earlier must read as not attested (AAL2 at most, never AAL3 on its say-so), and a
// principal as not shared. Undoing either drops its flag and nothing else.
import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { at, tenantRecord } from "../contract/fixtures.js";
import type { Database } from "../kysely/database.js";
import { createPrincipalRepository } from "../kysely/principal-repository.js";
import { createTenantRepository } from "../kysely/tenant-repository.js";
import { createWebAuthnCredentialRepository } from "../kysely/webauthn-repository.js";
import { databasesUnderTest } from "../test-support/stores-under-test.js";
import { webauthnAttestedMigration } from "./0015-webauthn-attested.js";
import { principalSharedLoginMigration } from "./0016-principal-shared-login.js";
import { migrateToLatest } from "./migrate-to-latest.js";

function describeMigrations(
  open: () => Promise<{ db: Kysely<Database>; close: () => Promise<void> }>,
) {
  let db: Kysely<Database>;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await open());
    await migrateToLatest(db);
  });
  afterAll(() => close());

  it("reads rows written before them as not attested and not shared; undone, the flags go", async () => {
    await createTenantRepository(db).insert(tenantRecord("acme"));
    const any = db as Kysely<unknown>;
    const down = async (m: typeof webauthnAttestedMigration) => {
      if (m.down === undefined) throw new Error("a migration that cannot be undone");
      await m.down(any);
    };
    await down(principalSharedLoginMigration);
    await down(webauthnAttestedMigration);
    // Rows as the schema before them held them.
    await sql`insert into principals (tenant, id, external_id, population, display_name, created_at, updated_at)
      values ('acme', 'alice', null, 'direct', null, ${at(0)}, ${at(0)})`.execute(db);
    await sql`insert into webauthn_credentials (tenant, principal, id, credential_id, name, public_key,
        algorithm, sign_count, transports, aaguid, backup_eligible, backup_state, device_type,
        user_verified, failed_attempts, locked_at, created_at, last_used_at)
      values ('acme', 'alice', 'auth_1', 'Y3JlZA', 'YubiKey', 'pQECAyYgASFYIA', -7, 3, '["usb"]',
        '2fc0579f-8113-47ea-b116-bb5a8db9202a', 0, 0, 'single_device', 1, 0, null, ${at(0)}, null)`.execute(
      db,
    );

    await webauthnAttestedMigration.up(any);
    await principalSharedLoginMigration.up(any);
    const credential = await createWebAuthnCredentialRepository(db).get("acme", "alice", "auth_1");
    const principal = await createPrincipalRepository(db, { lockRows: false }).get("acme", "alice");
    expect([credential?.attested, credential?.backupEligible, principal?.sharedLogin]).toEqual([
      false,
      false,
      undefined,
    ]);
  });
}

for (const { name, skip, open } of await databasesUnderTest("Migrations 0015 and 0016")) {
  describe.skipIf(skip)(
    `migrations 0015 and 0016 on ${name}${skip ? " (skipped: no PostgreSQL reachable)" : ""}`,
    () => {
      describeMigrations(open);
    },
  );
}
