/**
 * Threat: anyone who reaches the port reads `/metrics`: traffic per route, decisions by outcome,
 * IdP refusals per tenant. With `metrics.token` set, `/metrics` answers only
 * `Authorization: Bearer <token>` (compared in constant time), and anything else 401
 * `metrics.unauthorized` with `WWW-Authenticate`; an API key, even the platform administrator's,
 * is not the token. Neither the token nor a wrong one reaches the log. Without a token `/metrics`
 * stays open, as documented (its exposure is then the network's business).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedLog } from "./test-support/captured-log.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

const TOKEN = "mtk_Zm9yLXRoZS1tZXRyaWNzLW9ubHktMzItYnl0ZXM";
const CHALLENGE = 'Bearer realm="tenant-mfa metrics"';

let guarded: TestServer;
let open: TestServer;
const { logger, lines } = capturedLog();
beforeAll(async () => {
  guarded = await openTestServer({ metricsToken: TOKEN, logger });
  open = await openTestServer();
});
afterAll(async () => {
  await guarded.close();
  await open.close();
});

const metrics = (server: TestServer, authorization?: string) =>
  server.server.inject({
    method: "GET",
    url: "/metrics",
    headers: authorization === undefined ? {} : { authorization },
  });

describe("/metrics with a token configured", () => {
  it("answers the token as a bearer token", async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Bearer  ${TOKEN} `]) {
      const response = await metrics(guarded, authorization);
      expect(response.statusCode, authorization).toBe(200);
      expect(response.body).toContain("tenant_mfa_http_requests_total");
    }
  });

  it("answers no credentials 401 metrics.unauthorized with WWW-Authenticate", async () => {
    for (const authorization of [undefined, "", "Bearer", `Basic ${TOKEN}`, TOKEN]) {
      const response = await metrics(guarded, authorization);
      expect(response.statusCode, String(authorization)).toBe(401);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(response.json<{ code: string }>().code).toBe("metrics.unauthorized");
      expect(response.headers["www-authenticate"]).toBe(CHALLENGE);
      expect(response.body).not.toContain("tenant_mfa_");
    }
  });

  it("answers a wrong token 401 metrics.unauthorized, error=invalid_token", async () => {
    const wrong = [
      `${TOKEN.slice(0, -1)}X`,
      TOKEN.slice(0, -1),
      `${TOKEN}X`,
      TOKEN.toUpperCase(),
      guarded.adminKey,
      "x",
    ];
    for (const token of wrong) {
      const response = await metrics(guarded, `Bearer ${token}`);
      expect(response.statusCode, token).toBe(401);
      expect(response.json<{ code: string }>().code).toBe("metrics.unauthorized");
      expect(response.headers["www-authenticate"]).toBe(`${CHALLENGE}, error="invalid_token"`);
    }
  });

  it("never writes the token, or a wrong one, to the log", async () => {
    const before = lines.length;
    await metrics(guarded, `Bearer ${TOKEN}`);
    await metrics(guarded, "Bearer mtk_wrong-token-that-must-not-be-logged");
    const logged = lines.slice(before).join("");
    expect(logged).toContain("/metrics");
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain("mtk_wrong-token-that-must-not-be-logged");
  });

  it("refuses a HEAD without the token as it refuses a GET", async () => {
    const head = await guarded.server.inject({ method: "HEAD", url: "/metrics" });
    expect(head.statusCode).toBe(401);
    expect(head.headers["www-authenticate"]).toBe(CHALLENGE);
  });

  it("leaves the other probes open", async () => {
    expect((await guarded.call("GET", "/healthz")).statusCode).toBe(200);
  });
});

describe("/metrics without a token", () => {
  it("answers anyone, as before", async () => {
    const response = await metrics(open);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain("tenant_mfa_http_requests_total");
  });
});
