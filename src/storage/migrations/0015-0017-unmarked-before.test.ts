// Migrations 0015 (a WebAuthn credential's trusted attestation), 0016 (a shared-login mark) and
// 0017 (the root a credential's attestation chained to) add to rows that exist already. Nothing
// was checked or marked before them: a credential registered earlier must read as not attested
// (AAL2 at most, never AAL3 on its say-so), one marked attested before 0017 too (it names no
// root whose trust could be judged now), and a principal as not shared. Undoing each drops its
// column and nothing else.
import { sql, type Kysely } from "kysely";
import { expect } from "vitest";
import { at, tenantRecord } from "../contract/fixtures.js";
import { createPrincipalRepository } from "../kysely/principal-repository.js";
import { createTenantRepository } from "../kysely/tenant-repository.js";
import { createWebAuthnCredentialRepository } from "../kysely/webauthn-repository.js";
import { itOnMigratedDatabases } from "../test-support/stores-under-test.js";
import { webauthnAttestedMigration } from "./0015-webauthn-attested.js";
import { principalSharedLoginMigration } from "./0016-principal-shared-login.js";
import { webauthnAttestationRootMigration } from "./0017-webauthn-attestation-root.js";

await itOnMigratedDatabases(
  "migrations 0015 to 0017",
  "reads rows written before them as not attested and not shared; undone, the columns go",
  async (db) => {
    await createTenantRepository(db).insert(tenantRecord("acme"));
    const any = db as Kysely<unknown>;
    const down = async (m: typeof webauthnAttestedMigration) => {
      if (m.down === undefined) throw new Error("a migration that cannot be undone");
      await m.down(any);
    };
    await down(webauthnAttestationRootMigration);
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
    // Between 0015 and 0017 a credential was marked attested without naming its root.
    await sql`insert into webauthn_credentials (tenant, principal, id, credential_id, name, public_key,
        algorithm, sign_count, transports, aaguid, backup_eligible, backup_state, device_type,
        user_verified, attested, failed_attempts, locked_at, created_at, last_used_at)
      values ('acme', 'alice', 'auth_2', 'Y3JlZDI', 'YubiKey', 'pQECAyYgASFYIA', -7, 3, '["usb"]',
        '2fc0579f-8113-47ea-b116-bb5a8db9202a', 0, 0, 'single_device', 1, 1, 0, null, ${at(0)}, null)`.execute(
      db,
    );
    await webauthnAttestationRootMigration.up(any);
    const credentials = createWebAuthnCredentialRepository(db);
    const earliest = await credentials.get("acme", "alice", "auth_1");
    const markedAttested = await credentials.get("acme", "alice", "auth_2");
    const principal = await createPrincipalRepository(db, { lockRows: false }).get("acme", "alice");
    expect([
      earliest !== undefined && "attestationRoot" in earliest,
      markedAttested !== undefined && "attestationRoot" in markedAttested,
      earliest?.backupEligible,
      principal?.sharedLogin,
    ]).toEqual([false, false, false, undefined]);
  },
);
