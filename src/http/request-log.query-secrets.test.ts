// Threat: a secret that a client put in a URL's query reaches the request log (DESIGN invariant
// 6: nothing secret is logged). No route reads a secret from a query outside the browser-facing
// endpoints under `/t/`, but clients do write them there: an API key as RFC 6750 §2.3's
// `access_token`, a flow code, a key pasted as a bare parameter. The service refuses each, and
// the completion line of that refusal is written all the same. The query of an API route is
// logged only when the route declares every parameter in it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { capturedLog } from "./test-support/captured-log.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

let t: TestServer;
let service: string;
const { logger, lines } = capturedLog();

beforeAll(async () => {
  t = await openTestServer({ logger });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  service = await t.key(["platform_service"], ["acme"]);
});
afterAll(() => t.close());
beforeEach(() => {
  lines.length = 0;
});

/** The URL of each request's completion line, in the order written. */
const loggedUrls = () =>
  lines
    .map((line) => JSON.parse(line) as { msg: string; req?: { url: string } })
    .filter((line) => line.msg === "request completed")
    .map((line) => line.req?.url);

describe("a secret in a request's query", () => {
  it("is not logged when an API key is sent as access_token, on a route or on none", async () => {
    const encoded = encodeURIComponent(service);
    const policy = await t.server.inject({
      url: `/v1/tenants/acme/policy?access_token=${encoded}`,
    });
    expect(policy.statusCode).toBe(401);
    const nowhere = await t.server.inject({ url: `/v1/nowhere?access_token=${encoded}` });
    expect(nowhere.statusCode).toBe(404);
    const bare = await t.server.inject({ url: `/v1/tenants/acme/policy?${encoded}` });
    expect(bare.statusCode).toBe(401);

    expect(lines.join("")).not.toContain(service);
    expect(lines.join("")).not.toContain(service.slice(5));
    expect(loggedUrls()).toEqual([
      "/v1/tenants/acme/policy?[redacted]",
      "/v1/nowhere?[redacted]",
      "/v1/tenants/acme/policy?[redacted]",
    ]);
  });

  it("is not logged when a flow code is sent in the query of the exchange, with the key right", async () => {
    const code = "Qm9ndXNGbG93Q29kZVRoYXRNdXN0TmV2ZXJCZUxvZ2dlZA";
    const response = await t.call("POST", `/v1/flows/exchange?code=${code}`, {
      key: service,
      body: { code },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ code: string }>().code).toBe("request.invalid");

    expect(lines.join("")).not.toContain(code);
    expect(loggedUrls()).toEqual(["/v1/flows/exchange?[redacted]"]);
  });

  it("hides a query with a parameter the route does not declare, and keeps one with only declared ones", async () => {
    const response = await t.call("GET", `/v1/platform/audit?limit=5&token=${service}`, {
      key: t.adminKey,
    });
    expect(response.statusCode).toBe(400);
    expect(lines.join("")).not.toContain(service);
    expect(loggedUrls()).toEqual(["/v1/platform/audit?[redacted]"]);

    // Its declared parameters alone are logged as sent.
    lines.length = 0;
    const declared = await t.call("GET", "/v1/platform/audit?limit=5", { key: t.adminKey });
    expect(declared.statusCode).toBe(200);
    expect(loggedUrls()).toEqual(["/v1/platform/audit?limit=5"]);
  });
});
