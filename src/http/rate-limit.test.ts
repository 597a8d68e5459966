/**
 * Threat: anyone on the internet floods the routes that take no API key (hosted flows,
 * federation, the JWKS, the OpenAPI document) from one address, making the server look up
 * flows, check signatures and call IdPs without end. Each client address gets a number of
 * requests per window, all those routes together, then 429 with `Retry-After` before the route
 * does any work; the address is the one `trustProxy` determines, so forged `X-Forwarded-For`
 * entries neither dodge the limit nor push a victim over it. The authenticated `/v1` API and the
 * probes are never limited.
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Application } from "../app/application.js";
import { loadConfig } from "../config/load-config.js";
import { buildServer, type ServerConfig } from "./build-server.js";
import { createMetrics } from "./metrics.js";
import {
  DEFAULT_RATE_LIMIT,
  isInternalAddress,
  isRateLimited,
  type RateLimit,
} from "./rate-limit.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const closable of open.splice(0).reverse()) await closable.close();
});

interface Served {
  readonly server: FastifyInstance;
  readonly t: TestServer;
  /** How many times the hosted flow use case was asked for a page. */
  readonly shown: () => number;
}

/** The real server over a real application, with `rateLimit` over the defaults. */
async function serve(
  rateLimit: Partial<RateLimit>,
  config: Partial<ServerConfig> = {},
): Promise<Served> {
  const t = await openTestServer();
  open.push(t);
  let shown = 0;
  const app: Application = {
    ...t.app,
    flows: {
      ...t.app.flows,
      show: (...args) => {
        shown++;
        return t.app.flows.show(...args);
      },
    },
  };
  const server = buildServer({
    app,
    config: {
      bodyLimitBytes: 16 * 1024,
      logLevel: "silent",
      publicUrl: "https://mfa.test",
      rateLimit: { ...DEFAULT_RATE_LIMIT, ...rateLimit },
      ...config,
    },
    metrics: createMetrics(),
    now: () => t.clock.now(),
  });
  open.push(server);
  return { server, t, shown: () => shown };
}

const CLIENT = "198.51.100.7";
const OTHER = "198.51.100.8";

function get(
  served: Served,
  url: string,
  from = CLIENT,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return served.server.inject({ method: "GET", url, remoteAddress: from, headers });
}

/** Sends requests to the JWKS from `from` until one is refused; fails after `max + 1`. */
async function exhaust(
  served: Served,
  max: number,
  from = CLIENT,
): Promise<LightMyRequestResponse> {
  for (let sent = 0; sent <= max; sent++) {
    const response = await get(served, "/.well-known/jwks.json", from);
    if (response.statusCode === 429) return response;
  }
  throw new Error(`no 429 after ${String(max + 1)} requests`);
}

function expectRateLimitedProblem(response: LightMyRequestResponse, instance: string) {
  expect(response.statusCode).toBe(429);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = response.json<Record<string, unknown>>();
  expect(body).toEqual({
    type: "urn:tenant-mfa:problem:request.rate_limited",
    title: "Too many requests from this client address; wait before retrying.",
    status: 429,
    detail: expect.stringMatching(/^More than \d+ requests in \d+ seconds came from this client/),
    code: "request.rate_limited",
    instance,
    retryAfter: expect.any(Number),
  });
  expect(response.headers["retry-after"]).toBe(String(body["retryAfter"]));
}

describe("the limit on unauthenticated routes", () => {
  it("answers the request past the limit 429 with a problem and Retry-After", async () => {
    const served = await serve({ max: 3, windowSeconds: 60 });
    for (let sent = 0; sent < 3; sent++) {
      expect((await get(served, "/.well-known/jwks.json")).statusCode).toBe(200);
    }
    const refused = await get(served, "/.well-known/jwks.json");
    expectRateLimitedProblem(refused, "/.well-known/jwks.json");
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The server's other headers still apply.
    expect(refused.headers["x-content-type-options"]).toBe("nosniff");
    expect(refused.headers["cache-control"]).toBe("no-store");
  });

  it("counts the federation, flow, JWKS and OpenAPI routes together", async () => {
    const served = await serve({ max: 4 });
    const json = { accept: "application/json" };
    const answers = [
      await get(served, "/t/acme/idps/corp/saml/metadata", CLIENT, json),
      await get(served, "/t/acme/flows/flw_unknown"),
      await get(served, "/.well-known/jwks.json"),
      await get(served, "/openapi.json"),
    ];
    expect(answers.map((a) => a.statusCode)).not.toContain(429);
    expectRateLimitedProblem(await get(served, "/openapi.json"), "/openapi.json");
  });

  it("does not count another client address's requests", async () => {
    const served = await serve({ max: 2 });
    await exhaust(served, 2);
    expect((await get(served, "/.well-known/jwks.json", OTHER)).statusCode).toBe(200);
    expect((await get(served, "/.well-known/jwks.json")).statusCode).toBe(429);
  });

  it("never limits the authenticated decision API, the probes or the flow pages' assets", async () => {
    const served = await serve({ max: 2 });
    const { t } = served;
    const service = await t.key(["platform_service"], "all");
    await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
    await exhaust(served, 2);
    for (let sent = 0; sent < 10; sent++) {
      const decision = await served.server.inject({
        method: "POST",
        url: "/v1/tenants/acme/decisions",
        remoteAddress: CLIENT,
        headers: { authorization: `Bearer ${service}` },
        payload: {
          principal: { id: "alice", population: "direct" },
          evidence: {
            events: [{ method: "password", source: "platform", at: "2026-11-23T11:59:00Z" }],
          },
        },
      });
      expect(decision.statusCode, decision.body).toBe(201);
      for (const probe of ["/healthz", "/readyz", "/metrics", "/flow-assets/flow.js"]) {
        expect((await get(served, probe)).statusCode, probe).toBe(200);
      }
    }
    // Nor is a route that does not exist: its 404 costs no more than counting it would.
    expect((await get(served, "/t/acme/nothing-here")).statusCode).toBe(404);
  });

  it("counts a new window once the last one is over", async () => {
    const served = await serve({ max: 1, windowSeconds: 0.2 });
    await exhaust(served, 1);
    // No timing is asserted: the first request of a new window, whenever it comes, is let through.
    await vi.waitFor(
      async () => {
        expect((await get(served, "/.well-known/jwks.json")).statusCode).toBe(200);
      },
      { timeout: 5_000, interval: 50 },
    );
  });

  it("lets every request through when turned off", async () => {
    const served = await serve({ enabled: false, max: 1 });
    for (let sent = 0; sent < 5; sent++) {
      expect((await get(served, "/.well-known/jwks.json")).statusCode).toBe(200);
    }
  });

  it("takes its limit from the configuration (TENANT_MFA_RATE_LIMIT_MAX)", async () => {
    const config = loadConfig({ env: { TENANT_MFA_RATE_LIMIT_MAX: "2" } });
    const served = await serve({}, { rateLimit: config.rateLimit });
    expect((await exhaust(served, 2)).statusCode).toBe(429);
  });

  it("has the configuration schema's defaults", () => {
    expect(loadConfig({ env: {} }).rateLimit).toEqual(DEFAULT_RATE_LIMIT);
  });
});

describe("the answer past the limit, by route", () => {
  const FLOW = "/t/acme/flows/flw_7Hk2pQ";

  it("is a page on the flow page, before the flow is looked up", async () => {
    const served = await serve({ max: 1 });
    expect((await get(served, FLOW)).statusCode).toBe(404);
    expect(served.shown()).toBe(1);
    for (const accept of ["text/html", "application/json"]) {
      const refused = await get(served, FLOW, CLIENT, { accept });
      expect(refused.statusCode).toBe(429);
      expect(refused.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(refused.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
      expect(refused.body).toContain("<code>request.rate_limited</code>");
    }
    const posted = await served.server.inject({
      method: "POST",
      url: FLOW,
      remoteAddress: CLIENT,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "action=continue&csrf=x",
    });
    expect([posted.statusCode, posted.headers["content-type"]]).toEqual([
      429,
      "text/html; charset=utf-8",
    ]);
    expect(served.shown()).toBe(1);
  });

  it("is a problem for the flow page's script", async () => {
    const served = await serve({ max: 1 });
    await exhaust(served, 1);
    const refused = await served.server.inject({
      method: "POST",
      url: `${FLOW}/webauthn/options`,
      remoteAddress: CLIENT,
      headers: { "x-csrf-token": "token", accept: "text/html" },
      payload: { purpose: "authentication" },
    });
    expectRateLimitedProblem(refused, `${FLOW}/webauthn/options`);
  });

  it("is a page on a federation endpoint, or a problem to a client asking for JSON", async () => {
    const served = await serve({ max: 1 });
    await exhaust(served, 1);
    const start = "/t/acme/idps/corp/start";
    const page = await get(served, `${start}?return_to=x`, CLIENT, { accept: "text/html" });
    expect([page.statusCode, page.headers["content-type"]]).toEqual([
      429,
      "text/html; charset=utf-8",
    ]);
    expect(page.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
    expect(page.body).toContain("<code>request.rate_limited</code>");
    expect(page.body).not.toContain("return_to");
    expectRateLimitedProblem(
      await get(served, `${start}?return_to=x`, CLIENT, { accept: "application/json" }),
      start,
    );
    const acs = await served.server.inject({
      method: "POST",
      url: "/t/acme/idps/corp/saml/acs",
      remoteAddress: CLIENT,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "SAMLResponse=PHNhbWw%2B&RelayState=r",
    });
    expect([acs.statusCode, acs.headers["content-type"]]).toEqual([
      429,
      "text/html; charset=utf-8",
    ]);
  });
});

describe("the client address the limit counts against", () => {
  const PROXY = "10.0.0.1";
  const VICTIM = "203.0.113.9";

  function viaProxy(served: Served, forwardedFor: string, peer = PROXY) {
    return served.server.inject({
      method: "GET",
      url: "/.well-known/jwks.json",
      remoteAddress: peer,
      headers: { "x-forwarded-for": forwardedFor },
    });
  }

  it("is the one the trusted proxy appended: forged entries neither dodge it nor frame a victim", async () => {
    const config = loadConfig({ env: { TENANT_MFA_TRUST_PROXY: PROXY } });
    const served = await serve({ max: 2 }, { trustProxy: config.trustProxy });
    expect((await viaProxy(served, `${VICTIM}, ${CLIENT}`)).statusCode).toBe(200);
    expect((await viaProxy(served, `203.0.113.1, ${CLIENT}`)).statusCode).toBe(200);
    expect((await viaProxy(served, `203.0.113.2, ${CLIENT}`)).statusCode).toBe(429);
    // The victim the client wrote, and everyone else behind the proxy, are not limited.
    expect((await viaProxy(served, VICTIM)).statusCode).toBe(200);
    expect((await viaProxy(served, OTHER)).statusCode).toBe(200);
  });

  it("is the TCP peer without trusted proxies, whatever it forwards", async () => {
    const served = await serve({ max: 2 });
    expect((await viaProxy(served, VICTIM, CLIENT)).statusCode).toBe(200);
    expect((await viaProxy(served, "203.0.113.1", CLIENT)).statusCode).toBe(200);
    expect((await viaProxy(served, "203.0.113.2", CLIENT)).statusCode).toBe(429);
    expect((await viaProxy(served, CLIENT, VICTIM)).statusCode).toBe(200);
  });

  it("counts an IPv6 client by its /64, and an IPv4-mapped address as the IPv4 one", async () => {
    const served = await serve({ max: 2 });
    expect((await get(served, "/.well-known/jwks.json", "2001:db8:1:2::1")).statusCode).toBe(200);
    expect((await get(served, "/.well-known/jwks.json", "2001:db8:1:2::abcd")).statusCode).toBe(
      200,
    );
    expect((await get(served, "/.well-known/jwks.json", "2001:db8:1:2:ffff::9")).statusCode).toBe(
      429,
    );
    expect((await get(served, "/.well-known/jwks.json", "2001:db8:1:3::1")).statusCode).toBe(200);
    await exhaust(served, 2, OTHER);
    expect((await get(served, "/.well-known/jwks.json", `::ffff:${OTHER}`)).statusCode).toBe(429);
  });
});

describe("clients on internal networks", () => {
  const INTERNAL = [
    "127.0.0.1",
    "::1",
    "10.1.2.3",
    "172.31.0.9",
    "192.168.1.20",
    "100.64.0.7",
    "169.254.169.254",
    "fd00::5",
    "fe80::1",
    "::ffff:10.0.0.1",
  ];

  it("are never counted: a proxy left out of trustProxy would take every client down with it", async () => {
    const served = await serve({ max: 1 });
    for (const peer of INTERNAL) {
      for (let sent = 0; sent < 3; sent++) {
        const response = await get(served, "/t/acme/idps/corp/saml/metadata", peer);
        expect(response.statusCode, peer).not.toBe(429);
      }
    }
  });

  it("are told from the internet's addresses", () => {
    for (const address of [...INTERNAL, "fe80::1%eth0", "::ffff:127.0.0.1"]) {
      expect(isInternalAddress(address), address).toBe(true);
    }
    const outside = [
      CLIENT,
      "9.255.255.255",
      "11.0.0.0",
      "172.15.255.255",
      "172.32.0.0",
      "192.169.0.1",
      "100.63.255.255",
      "100.128.0.0",
      "2001:db8::1",
      "::ffff:198.51.100.7",
      "fec0::1",
      "",
      "localhost",
    ];
    for (const address of outside) expect(isInternalAddress(address), address).toBe(false);
  });
});

describe("isRateLimited", () => {
  it("limits every route but the /v1 API, the probes and the flow assets", () => {
    const cases: [string | undefined, boolean][] = [
      ["/t/:tenant/flows/:flow", true],
      ["/t/:tenant/flows/:flow/webauthn/options", true],
      ["/t/:tenant/idps/:idp/saml/acs", true],
      ["/.well-known/jwks.json", true],
      ["/openapi.json", true],
      ["/some/future/route", true],
      ["/v1/tenants/:tenant/decisions", false],
      ["/healthz", false],
      ["/readyz", false],
      ["/metrics", false],
      ["/flow-assets/:name", false],
      [undefined, false],
    ];
    for (const [route, limited] of cases) expect(isRateLimited(route), route).toBe(limited);
  });
});
