// Threat: a decision receipt changed in the database behind the service (a `challenge` turned
// into an `allow`). Over HTTP it is refused with a problem that says so, and the operator's log
// says it at error level, where alerts look: it is the store that was changed, not a request
// that failed.
import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import { capturedLog } from "../test-support/captured-log.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const file = join(mkdtempSync(join(tmpdir(), "tenant-mfa-receipts-")), "store.db");
const { logger, lines } = capturedLog();
let t: TestServer;
let service: string;

beforeAll(async () => {
  t = await openTestServer({ store: await openStore(`sqlite:${file}`), logger });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  const version = (await t.call("GET", "/v1/tenants/acme/policy", { key: t.adminKey })).headers
    .etag;
  await t.call("PUT", "/v1/tenants/acme/policy", {
    key: t.adminKey,
    headers: { "if-match": String(version) },
    body: { policy: { posture: "platform_mfa" }, rationale: "MFA" },
  });
  service = await t.key(["platform_service"], ["acme"]);
});
afterAll(() => t.close());

describe("a tampered decision receipt over HTTP", () => {
  it("is refused as receipt.tampered, logged at error level", async () => {
    const decided = await t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "alice", population: "direct" },
        evidence: {
          events: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
        },
      },
    });
    const { id, outcome } = decided.json<{ id: string; outcome: string }>();
    expect(outcome).toBe("challenge");
    expect((await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey })).statusCode).toBe(200);

    const db = new Database(file);
    db.prepare(
      `UPDATE receipts SET outcome = 'allow', decision = replace(decision, '"outcome":"challenge"', '"outcome":"allow"') WHERE id = ?`,
    ).run(id);
    db.close();
    const before = lines.length;
    const served = await t.call("GET", `/v1/decisions/${id}`, { key: t.adminKey });
    expect([served.statusCode, served.json<{ code: string }>().code]).toEqual([
      500,
      "receipt.tampered",
    ]);
    expect(served.body).not.toContain('"outcome":"allow"');
    const logged = lines
      .slice(before)
      .map((line) => JSON.parse(line) as { level: number; code?: string });
    expect(logged).toContainEqual(expect.objectContaining({ level: 50, code: "receipt.tampered" }));
  });
});
