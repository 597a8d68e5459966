// Threat: recovery codes leak through what the service keeps: the audit chain (read by
// auditors, exported as JSON Lines), the logs, or a stored response. SECURITY-CHECKLIST X: audit
// logs never contain recovery codes; DESIGN invariant 6: nothing secret is logged. Every
// recovery-code operation, successful and refused, is run through the real server with logging
// at `trace`; then no audit payload and no log line holds any code, in any typing of it, nor its
// secret part, nor a stored hash.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { capturedLog } from "../test-support/captured-log.js";

let t: TestServer;
const { logger, lines: logLines } = capturedLog();
const base = "/v1/tenants/acme/principals/alice/authenticators/recovery-codes";

beforeAll(async () => {
  t = await openTestServer({ logger: logger });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  await t.call("PUT", "/v1/tenants/acme/principals/alice", {
    key: t.adminKey,
    body: { population: "direct" },
  });
});
afterAll(() => t.close());

/** Every way a code could show up: as issued, bare, lower case, and its 16 secret characters. */
const forms = (code: string): string[] => {
  const bare = code.replace(/-/g, "");
  return [code, bare, code.toLowerCase(), bare.toLowerCase(), bare.slice(4), code.slice(5)];
};

describe("recovery codes never reach the audit chain or the logs", () => {
  it("holds for generation, use, replay, wrong and malformed codes, status, replacement and revocation", async () => {
    const service = await t.key(["platform_service"], ["acme"]);
    const issued: string[] = [];
    const generate = async () => {
      const response = await t.call("POST", base, { key: service });
      expect(response.statusCode).toBe(201);
      issued.push(...response.json<{ codes: string[] }>().codes);
    };
    const verify = (code: string) =>
      t.call("POST", `${base}/verify`, { key: service, body: { code } });
    await generate();
    const [first, second] = issued as [string, string];
    expect((await verify(first)).statusCode).toBe(200);
    expect((await verify(first)).statusCode).toBe(422);
    expect((await verify(second.toLowerCase())).statusCode).toBe(200);
    const wrong = `${first.slice(0, 5)}${first[5] === "Z" ? "Y" : "Z"}${first.slice(6)}`;
    expect((await verify(wrong)).statusCode).toBe(422);
    expect((await verify(first.slice(0, 10))).statusCode).toBe(400);
    await t.call("GET", base, { key: service });
    await generate();
    expect((await verify(issued[12]!)).statusCode).toBe(200);
    expect((await t.call("DELETE", base, { key: t.adminKey })).statusCode).toBe(204);

    const stored = await t.store.read(async ({ audit }) =>
      audit.read("tenant:acme", { afterSeq: 0, limit: 1000 }),
    );
    const types = stored.map((event) => event.type).filter((type) => type.startsWith("recovery"));
    expect(types).toEqual([
      "recovery_code.generated",
      "recovery_code.used",
      "recovery_code.verification_failed",
      "recovery_code.used",
      "recovery_code.verification_failed",
      "recovery_code.verification_failed",
      "recovery_code.generated",
      "recovery_code.used",
      "recovery_code.revoked",
    ]);
    const exported = await t.call("GET", "/v1/tenants/acme/audit?format=jsonl&limit=500", {
      key: t.adminKey,
    });
    expect(exported.statusCode).toBe(200);
    const kept = [JSON.stringify(stored), exported.body, logLines.join("\n")];
    expect(logLines.length).toBeGreaterThan(10);
    for (const code of issued) {
      for (const form of forms(code)) {
        for (const text of kept) expect(text).not.toContain(form);
      }
    }
    // No stored hash either, nor a field that would carry a code.
    for (const text of kept)
      expect(text).not.toMatch(/\$scrypt\$|[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/);
  });
});
