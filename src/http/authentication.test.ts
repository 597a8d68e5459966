/**
 * Threat: anyone who can reach the port calls the API. Every `/v1` route requires an API key as a
 * bearer token; failures are 401 problems with `WWW-Authenticate: Bearer`, repeated failures
 * from one address are slowed down, and no secret ever reaches the logs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";
import { capturedLog } from "./test-support/captured-log.js";

let t: TestServer;
const { logger, lines: logLines } = capturedLog();
beforeAll(async () => {
  t = await openTestServer({
    authFailureLimit: { attempts: 3, windowMs: 60_000 },
    logger: logger,
  });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
});
afterAll(() => t.close());

async function v1Operations(): Promise<{ method: string; url: string }[]> {
  const document = (await t.call("GET", "/openapi.json")).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith("/v1/"))
    .flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => ({
        method: method.toUpperCase(),
        url: path.replace(/\{[^}]+\}/g, "acme"),
      })),
    );
}

describe("bearer authentication", () => {
  it("answers every /v1 route without credentials with 401 and WWW-Authenticate: Bearer", async () => {
    const operations = await v1Operations();
    expect(operations.length).toBeGreaterThanOrEqual(28);
    for (const { method, url } of operations) {
      const response = await t.server.inject({
        method: method as "GET",
        url,
        ...(method === "POST" || method === "PUT" ? { payload: {} } : {}),
      });
      expect(response.statusCode, `${method} ${url}`).toBe(401);
      expect(response.headers["www-authenticate"]).toBe('Bearer realm="tenant-mfa"');
      expect(response.json<{ code: string }>().code).toBe("auth.missing_credentials");
    }
  });

  it("refuses other schemes and malformed bearer headers as missing credentials", async () => {
    for (const authorization of [
      `Basic ${Buffer.from("admin:admin").toString("base64")}`,
      "Bearer",
      "Bearer two words",
      t.adminKey,
    ]) {
      const response = await t.call("GET", "/v1/tenants", { headers: { authorization } });
      expect(response.statusCode, authorization).toBe(401);
      expect(response.json<{ code: string }>().code).toBe("auth.missing_credentials");
      expect(response.headers["www-authenticate"]).toMatch(/^Bearer /);
    }
  });

  it("accepts the scheme name in any case", async () => {
    const response = await t.call("GET", "/v1/tenants", {
      headers: { authorization: `bearer ${t.adminKey}` },
    });
    expect(response.statusCode).toBe(200);
  });

  it("answers an unknown or revoked key with 401 auth.invalid_credentials", async () => {
    const auditor = await t.key(["tenant_auditor"], ["acme"]);
    expect((await t.call("GET", "/v1/tenants/acme", { key: auditor })).statusCode).toBe(200);
    const id = (await t.call("GET", "/v1/api-keys", { key: t.adminKey }))
      .json<{ items: { id: string; name: string }[] }>()
      .items.find((k) => k.name === "tenant_auditor")?.id;
    expect((await t.call("DELETE", `/v1/api-keys/${id}`, { key: t.adminKey })).statusCode).toBe(
      204,
    );

    const revoked = await t.call("GET", "/v1/tenants/acme", { key: auditor });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json<{ code: string }>().code).toBe("auth.invalid_credentials");
    expect(revoked.headers["www-authenticate"]).toBe(
      'Bearer realm="tenant-mfa", error="invalid_token"',
    );
    t.clock.advance(61); // a fresh window for the back-off test below
  });

  it("slows an address down after repeated failures, then lets it try again", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await t.call("GET", "/v1/tenants", { key: `tmfa_wrong${attempt}` });
      expect(response.statusCode).toBe(401);
    }
    for (const key of ["tmfa_wrong3", "no-prefix"]) {
      const blocked = await t.call("GET", "/v1/tenants", { key });
      expect(blocked.statusCode).toBe(429);
      const problem = blocked.json<{ code: string; retryAfter?: number }>();
      expect(problem.code).toBe("auth.rate_limited");
      expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
      // The body says what the header says, as every problem with a wait does.
      expect(problem.retryAfter).toBe(Number(blocked.headers["retry-after"]));
    }

    t.clock.advance(61);
    expect((await t.call("GET", "/v1/tenants", { key: "tmfa_wrong4" })).statusCode).toBe(401);
    t.clock.advance(61); // a fresh window for the tests below
  });

  // Threat: a denial of service through a shared address (NAT, a load balancer without
  // trustProxy): anyone's wrong keys must not lock the platform's backend out.
  it("never slows down a valid key, even from an address that is being slowed down", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      await t.call("GET", "/v1/tenants", { key: `tmfa_wrong${attempt}` });
    }
    expect((await t.call("GET", "/v1/tenants", { key: "tmfa_wrong3" })).statusCode).toBe(429);
    const valid = await t.call("GET", "/v1/tenants", { key: t.adminKey });
    expect(valid.statusCode).toBe(200);
    expect((await t.call("GET", "/v1/tenants", { key: "tmfa_wrong4" })).statusCode).toBe(429);
    t.clock.advance(61);
  });

  it("logs each request once, on completion, with its method, URL and status", async () => {
    const before = logLines.length;
    await t.call("GET", "/v1/tenants", { key: t.adminKey });
    const lines = logLines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.msg)).toEqual(["request completed"]);
    expect(lines[0]).toMatchObject({
      req: { method: "GET", url: "/v1/tenants" },
      res: { statusCode: 200 },
    });
  });

  it("never writes a secret or a request body to the logs", async () => {
    const created = await t.call("POST", "/v1/api-keys", {
      key: t.adminKey,
      body: { name: "logged?", roles: ["tenant_admin"], tenants: ["acme"] },
    });
    const { secret } = created.json<{ secret: string }>();
    await t.call("GET", "/v1/tenants", { key: secret });
    await t.call("GET", "/v1/tenants", { key: "tmfa_not-a-real-key" });
    const logs = logLines.join("");
    expect(logs).toContain("request completed");
    expect(logs).not.toContain(t.adminKey);
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain("tmfa_not-a-real-key");
    expect(logs).not.toContain("logged?");
  });

  it("never logs the query of a federation endpoint (authorization codes, state, IdP messages)", async () => {
    const code = "authorization-code-that-must-not-be-logged";
    await t.call("GET", `/t/acme/idps/corp/oidc/callback?code=${code}&state=fed_1`);
    await t.call("GET", "/v1/tenants?limit=7", { key: t.adminKey });
    const logs = logLines.join("");
    expect(logs).toContain("/t/acme/idps/corp/oidc/callback?[redacted]");
    expect(logs).not.toContain(code);
    // Queries of the administration API are filters, kept for the operator.
    expect(logs).toContain("/v1/tenants?limit=7");
  });
});
