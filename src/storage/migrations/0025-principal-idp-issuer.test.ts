// Migration 0025 has each principal's binding remember the issuer (OIDC) or entity id (SAML) of
// its IdP, so that re-pointing the IdP id at another issuer stops the binding from counting.
// Bindings made before must keep counting as they did: each is filled in with its IdP's issuer or
// entity id as registered. One to a removed IdP (whose tombstone keeps no settings) counts for no
// issuer. Unbound principals stay unbound, and a principal of another tenant is filled in from its
// own tenant's IdP of the same id.
import { sql, type Kysely } from "kysely";
import { expect } from "vitest";
import { at, oidcIdp, tenantRecord } from "../contract/fixtures.js";
import { samlIdp } from "../contract/describe-federation.js";
import { createIdpRepository } from "../kysely/idp-repository.js";
import { createPrincipalRepository } from "../kysely/principal-repository.js";
import { createTenantRepository } from "../kysely/tenant-repository.js";
import { itOnMigratedDatabases } from "../test-support/stores-under-test.js";
import { principalIdpIssuerMigration } from "./0025-principal-idp-issuer.js";

/** A principal row as the table held it before 0025: tenant, id and binding. */
const insertPrincipal = (db: Kysely<unknown>, tenant: string, id: string, idp: string | null) =>
  sql`insert into principals (tenant, id, population, shared_login, idp, created_at, updated_at)
    values (${tenant}, ${id}, 'sso', 0, ${idp}, ${at(0)}, ${at(0)})`.execute(db);

await itOnMigratedDatabases(
  "migration 0025 (binding issuer)",
  "fills each binding with its IdP's issuer or entity id as registered",
  async (db) => {
    const tenants = createTenantRepository(db);
    await tenants.insert(tenantRecord("acme"));
    await tenants.insert(tenantRecord("beta"));
    const idps = createIdpRepository(db);
    await idps.put(oidcIdp("acme", "okta", "v1.k1.aaaa.bbbb"));
    await idps.put(samlIdp("acme", "corp"));
    await idps.put(samlIdp("acme", "gone"));
    await idps.remove("acme", "gone");
    await idps.put(oidcIdp("beta", "corp", "v1.k1.aaaa.bbbb"));

    const migration = principalIdpIssuerMigration;
    if (migration.down === undefined) throw new Error("migration 0025 cannot be undone");
    await migration.down(db as Kysely<unknown>);
    const before = db as Kysely<unknown>;
    await insertPrincipal(before, "acme", "alice", "okta");
    await insertPrincipal(before, "acme", "bob", "corp");
    await insertPrincipal(before, "acme", "carol", "gone");
    await insertPrincipal(before, "acme", "dave", null);
    await insertPrincipal(before, "beta", "bob", "corp");
    await migration.up(before);

    const principals = createPrincipalRepository(db, { lockRows: false });
    const bindingOf = async (tenant: string, id: string) => {
      const principal = await principals.get(tenant, id);
      return [principal?.idp, principal?.idpIssuer];
    };
    expect(await bindingOf("acme", "alice")).toEqual(["okta", "https://idp.example/okta"]);
    expect(await bindingOf("acme", "bob")).toEqual(["corp", "https://idp.example/corp"]);
    // A removed IdP's tombstone keeps no settings: the binding counts for no issuer, so that an
    // IdP registered again under that id signs carol in only once she is bound again.
    expect(await bindingOf("acme", "carol")).toEqual(["gone", undefined]);
    expect(await bindingOf("acme", "dave")).toEqual([undefined, undefined]);
    expect(await bindingOf("beta", "bob")).toEqual(["corp", "https://idp.example/corp"]);
  },
);
