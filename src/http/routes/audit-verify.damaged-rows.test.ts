// Threat: a tenant's row overwritten in the database with text that is not JSON. `GET
// /v1/audit/verify` answered 503 `store.unavailable` with a `Retry-After`: the tampering passed
// for an outage. It answers the verification, not intact, naming the row, the chains verified.
import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const file = join(mkdtempSync(join(tmpdir(), "tenant-mfa-damaged-rows-")), "store.db");
let t: TestServer;

beforeAll(async () => {
  t = await openTestServer({ store: await openStore(`sqlite:${file}`) });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  const db = new Database(file);
  db.exec("UPDATE tenants SET return_urls = 'not json' WHERE id = 'acme'");
  db.close();
});
afterAll(() => t.close());

describe("verifying a store with a tenant row that is no longer JSON", () => {
  it.each([
    ["every chain", "/v1/audit/verify", 2],
    ["the tenant's chain", "/v1/audit/verify?tenant=acme", 1],
  ])("answers %s not intact, naming the row", async (_, url, chains) => {
    const response = await t.call("GET", url, { key: t.adminKey });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers["retry-after"]).toBeUndefined();
    expect(response.json()).toMatchObject({
      ok: false,
      chains,
      damaged: [{ table: "tenants", id: "acme" }],
    });
    expect(response.json()).not.toHaveProperty("broken");
  });
});

describe("verifying a store with a tenant's policy version and IdP that are no longer JSON", () => {
  it("names both, the IdP with its tenant, as the contract describes them", async () => {
    const db = new Database(file);
    const { policy } = db
      .prepare("SELECT policy FROM policy_versions WHERE tenant = 'acme' AND version = 1")
      .get() as { policy: string };
    db.exec("UPDATE policy_versions SET policy = '{' WHERE tenant = 'acme'");
    db.exec(
      "INSERT INTO idps (tenant, id, protocol, document, version, created_at, updated_at) VALUES ('acme', 'corp', 'oidc', 'not json', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
    );
    try {
      const response = await t.call("GET", "/v1/audit/verify", { key: t.adminKey });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({
        ok: false,
        damaged: [
          { table: "idps", tenant: "acme", id: "corp" },
          { table: "policy_versions", id: "acme", version: 1 },
          { table: "tenants", id: "acme" },
        ],
      });
      // The contract names every table verify reads, and a row's tenant.
      const document = (await t.call("GET", "/openapi.json")).json<{
        paths: Record<string, { get: { responses: Record<string, unknown> } }>;
      }>();
      const contract = JSON.stringify(document.paths["/v1/audit/verify"]?.get.responses["200"]);
      for (const table of ["policy_versions", "idps", "idp_observations", "webauthn_settings"]) {
        expect(contract).toContain(`"${table}"`);
      }
      expect(contract).toContain('"tenant"');
    } finally {
      db.exec("DELETE FROM idps WHERE tenant = 'acme' AND id = 'corp'");
      db.prepare("UPDATE policy_versions SET policy = ? WHERE tenant = 'acme'").run(policy);
      db.close();
    }
  });
});

describe("verifying a store with more damaged rows of a table than are named", () => {
  it("answers how many of each table it left unnamed", async () => {
    const db = new Database(file);
    const insert = db.prepare(
      "INSERT INTO api_keys (id, name, secret_hash, roles, tenants, created_at, created_by) VALUES (?, 'forged', ?, 'not json', '\"all\"', '2026-01-01T00:00:00.000Z', 'someone')",
    );
    for (let n = 0; n < 102; n += 1) insert.run(`key_forged_${String(n)}`, `hash-${String(n)}`);
    db.close();
    const response = await t.call("GET", "/v1/audit/verify", { key: t.adminKey });
    expect(response.statusCode, response.body).toBe(200);
    const result = response.json<{ damaged: { table: string }[]; damagedUnlisted: unknown }>();
    expect(result.damaged.filter((row) => row.table === "api_keys")).toHaveLength(100);
    expect(result.damagedUnlisted).toEqual({ api_keys: 2 });
    // And the contract says so.
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, { get: { responses: Record<string, unknown> } }>;
    }>();
    expect(JSON.stringify(document.paths["/v1/audit/verify"]?.get.responses["200"])).toContain(
      '"damagedUnlisted"',
    );
  });
});

describe("a tenant auditor verifying their tenants' chains with one tenant's rows damaged", () => {
  it("names acme's rows to acme's verification, and none to globex's", async () => {
    const db = new Database(file);
    const { policy } = db
      .prepare("SELECT policy FROM policy_versions WHERE tenant = 'acme' AND version = 1")
      .get() as { policy: string };
    try {
      // Making a key for acme reads acme's row: it is repaired for that, and damaged again after.
      db.exec("UPDATE tenants SET return_urls = '[]' WHERE id = 'acme'");
      await t.call("POST", "/v1/tenants", {
        key: t.adminKey,
        body: { id: "globex", name: "Globex" },
      });
      const auditor = await t.key(["tenant_auditor"], ["acme", "globex"]);
      db.exec("UPDATE policy_versions SET policy = '{' WHERE tenant = 'acme'");
      db.exec(
        "INSERT INTO idps (tenant, id, protocol, document, version, created_at, updated_at) VALUES ('acme', 'corp', 'oidc', 'not json', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
      );
      const acme = await t.call("GET", "/v1/audit/verify?tenant=acme", { key: auditor });
      expect(acme.statusCode, acme.body).toBe(200);
      expect(acme.json()).toMatchObject({ ok: false, chains: 1 });
      expect(acme.json<{ damaged: unknown }>().damaged).toEqual([
        { table: "idps", tenant: "acme", id: "corp" },
        { table: "policy_versions", id: "acme", version: 1 },
      ]);
      const globex = await t.call("GET", "/v1/audit/verify?tenant=globex", { key: auditor });
      expect(globex.statusCode, globex.body).toBe(200);
      expect(globex.json()).toMatchObject({ ok: true, chains: 1 });
      expect(globex.json()).not.toHaveProperty("damaged");
    } finally {
      db.exec("DELETE FROM idps WHERE tenant = 'acme' AND id = 'corp'");
      db.prepare("UPDATE policy_versions SET policy = ? WHERE tenant = 'acme'").run(policy);
      db.exec("UPDATE tenants SET return_urls = 'not json' WHERE id = 'acme'");
      db.close();
    }
  });
});
