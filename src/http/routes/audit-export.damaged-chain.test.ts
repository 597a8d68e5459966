// Threat: an audit event's payload overwritten in the database with text that is not JSON. The
// store never writes such text, so only tampering leaves it. Answered as an outage (503
// `store.unavailable`, `Retry-After`), the list and export routes sent an exporter into retrying
// forever, and told nobody that the chain was changed, nor where. They answer a problem that
// says the chain is damaged and to run verify, which names the broken link; the operator's log
// says it at error level, where alerts look.
import Database from "better-sqlite3";
import type { LightMyRequestResponse } from "fastify";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import { capturedLog } from "../test-support/captured-log.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const file = join(mkdtempSync(join(tmpdir(), "tenant-mfa-damaged-chain-")), "store.db");
const { logger, lines } = capturedLog();
let t: TestServer;

/** Overwrites the payload of event `seq` of `chain` with text that is not JSON. */
function damage(chain: string, seq: number): void {
  const db = new Database(file);
  db.prepare("UPDATE audit_events SET payload = 'not json' WHERE chain = ? AND seq = ?").run(
    chain,
    seq,
  );
  db.close();
}

beforeAll(async () => {
  t = await openTestServer({ store: await openStore(`sqlite:${file}`), logger });
  for (const tenant of ["acme", "globex"]) {
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: tenant, name: tenant } });
  }
  for (const id of ["alice", "bob", "carol", "dave"]) {
    await t.call("PUT", `/v1/tenants/acme/principals/${id}`, {
      key: t.adminKey,
      body: { population: "direct" },
    });
  }
  await t.call("POST", "/v1/platform/mandates", {
    key: t.adminKey,
    body: {
      id: "uplift",
      mandate: { title: "Uplift", scope: { tenants: "all" }, require: {}, exemptible: true },
      rationale: "Threat",
    },
  });
  damage("tenant:acme", 3);
  damage("platform", 3);
});
afterAll(() => t.close());

/** Checks that `response` says the chain is damaged at `seq`, and nothing says to retry. */
function expectDamaged(response: LightMyRequestResponse, chain: string, seq: number): void {
  expect(response.statusCode, response.body).toBe(500);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(response.headers["retry-after"]).toBeUndefined();
  const problem = response.json<Record<string, unknown>>();
  expect(problem).toMatchObject({
    status: 500,
    code: "audit.chain_damaged",
    details: { chain, seq },
  });
  expect(problem).not.toHaveProperty("retryAfter");
  expect(problem["detail"]).toContain(`Event ${String(seq)} of ${chain}`);
  expect(problem["detail"]).toContain("tenant-mfa audit verify");
}

describe("listing a chain that holds an event that is no longer JSON", () => {
  it.each([
    ["a tenant's page", "/v1/tenants/acme/audit", {}],
    ["a tenant's export", "/v1/tenants/acme/audit?format=jsonl", {}],
    ["a tenant's export (Accept)", "/v1/tenants/acme/audit", { accept: "application/x-ndjson" }],
    ["the platform's page", "/v1/platform/audit", {}],
    ["the platform's export", "/v1/platform/audit?format=jsonl", {}],
  ])(
    "answers %s with 500 audit.chain_damaged naming the event, logged at error level",
    async (_, url, headers) => {
      const before = lines.length;
      const response = await t.call("GET", url, { key: t.adminKey, headers });
      const chain = url.startsWith("/v1/platform/") ? "platform" : "tenant:acme";
      expectDamaged(response, chain, 3);
      const logged = lines
        .slice(before)
        .map((line) => JSON.parse(line) as { level: number; code?: string });
      expect(logged).toContainEqual(
        expect.objectContaining({ level: 50, code: "audit.chain_damaged" }),
      );
    },
  );

  it("says so for the tenant's auditor too, and verify names the same event", async () => {
    const auditor = await t.key(["tenant_auditor"], ["acme"]);
    expectDamaged(
      await t.call("GET", "/v1/tenants/acme/audit", { key: auditor }),
      "tenant:acme",
      3,
    );
    const verified = await t.call("GET", "/v1/audit/verify?tenant=acme", { key: auditor });
    expect(verified.json()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 3, problem: "hash_mismatch" },
    });
  });

  it("still serves the pages before and after the damaged event, and other chains", async () => {
    const before = await t.call("GET", "/v1/tenants/acme/audit?limit=2", { key: t.adminKey });
    expect(before.statusCode).toBe(200);
    expect(before.json<{ items: { seq: number }[] }>().items.map((e) => e.seq)).toEqual([1, 2]);
    const after = await t.call("GET", "/v1/platform/audit?after=3", { key: t.adminKey });
    expect(after.statusCode).toBe(200);
    expect(after.json<{ items: { seq: number }[] }>().items[0]?.seq).toBe(4);
    const other = await t.call("GET", "/v1/tenants/globex/audit", { key: t.adminKey });
    expect(other.statusCode).toBe(200);
  });

  it("cuts a JSON Lines export short when the damaged event is past its first page, logged at error level", async () => {
    const before = lines.length;
    // The answer is under way (200, the first page sent) when the damaged event is read: it can
    // only be cut short, which a client sees as a transfer that never ended, never as a complete
    // export.
    await expect(
      t.call("GET", "/v1/tenants/acme/audit?format=jsonl&limit=2", { key: t.adminKey }),
    ).rejects.toThrow(/destroyed before completion/);
    const logged = lines
      .slice(before)
      .map((line) => JSON.parse(line) as { level: number; code?: string; msg: string });
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 50, code: "audit.chain_damaged" }),
    );
    // Nothing tries to answer again once the answer is under way.
    expect(logged.map((line) => line.msg)).not.toContain("unexpected error");
    expect(logged.filter((line) => line.level >= 50)).toHaveLength(1);
  });
});
