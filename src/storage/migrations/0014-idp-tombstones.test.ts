// Migration 0014 keeps a removed IdP's row as a tombstone holding its last version. Registrations
// made before it must stay live, and undoing it must not turn a tombstone into a registration.
import type { Kysely } from "kysely";
import { expect } from "vitest";
import { DEFAULT_IDP_ASSURANCE_MAPPING } from "../../core/idp-assurance.js";
import type { IdpRecord } from "../../app/records.js";
import { at, tenantRecord } from "../contract/fixtures.js";
import { createIdpRepository } from "../kysely/idp-repository.js";
import { createTenantRepository } from "../kysely/tenant-repository.js";
import { itOnMigratedDatabases } from "../test-support/stores-under-test.js";
import { idpTombstonesMigration } from "./0014-idp-tombstones.js";

function oidcIdp(id: string, version: number): IdpRecord {
  return {
    tenant: "acme",
    id,
    protocol: "oidc",
    oidc: {
      issuer: "https://idp.example",
      clientId: "tenant-mfa",
      scopes: ["openid"],
      idTokenAlgorithms: ["RS256"],
      subjectClaim: "sub",
      sealedClientSecret: "v1.k1.aaaa.bbbb",
    },
    request: { mfa: ["https://refeds.org/profile/mfa"], phishingResistant: [] },
    mapping: DEFAULT_IDP_ASSURANCE_MAPPING,
    clockSkewSeconds: 120,
    maxAuthenticationAgeSeconds: 86400,
    version,
    createdAt: at(0),
    updatedAt: at(version),
    updatedBy: "key_admin",
  };
}

await itOnMigratedDatabases(
  "migration 0014 (IdP tombstones)",
  "keeps earlier registrations live, and undoing it forgets tombstones rather than reviving them",
  async (db) => {
    const idps = createIdpRepository(db);
    await createTenantRepository(db).insert(tenantRecord("acme"));
    await idps.put(oidcIdp("corp", 1));
    await idps.put(oidcIdp("gone", 1));
    await idps.put(oidcIdp("gone", 2));
    await idps.remove("acme", "gone");

    const migration = idpTombstonesMigration;
    if (migration.down === undefined) throw new Error("migration 0014 cannot be undone");
    await migration.down(db as Kysely<unknown>);
    const left = await db.selectFrom("idps").select("id").orderBy("id").execute();
    expect(left).toEqual([{ id: "corp" }]);

    await migration.up(db as Kysely<unknown>);
    expect(await idps.get("acme", "corp")).toStrictEqual(oidcIdp("corp", 1));
    expect(await idps.list("acme")).toStrictEqual([oidcIdp("corp", 1)]);
    expect(await idps.put(oidcIdp("corp", 2))).toBe(true);
    expect(await idps.remove("acme", "corp")).toBe(true);
    expect(await idps.removedVersion("acme", "corp")).toBe(2);
  },
);
