/**
 * Threat: guessing the metrics token at the network's speed. The 32-character minimum leaves
 * its randomness to the operator, so wrong tokens count against the address's budget of wrong
 * credentials, the same budget wrong API keys count against (guessing one must not add to the
 * guesses at the other): past it a wrong token answers 429 `auth.rate_limited` with
 * `Retry-After`. The right token is never slowed down, whatever its address did.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

const TOKEN = "mtk_Zm9yLXRoZS1tZXRyaWNzLW9ubHktMzItYnl0ZXM";
const GUESSER = "203.0.113.9";

let t: TestServer;
beforeEach(async () => {
  t = await openTestServer({
    metricsToken: TOKEN,
    authFailureLimit: { attempts: 3, windowMs: 60_000 },
  });
});
afterEach(() => t.close());

const metrics = (authorization: string, remoteAddress = GUESSER) =>
  t.server.inject({ method: "GET", url: "/metrics", remoteAddress, headers: { authorization } });

const wrongKey = (remoteAddress = GUESSER) =>
  t.server.inject({
    method: "GET",
    url: "/v1/tenants",
    remoteAddress,
    headers: { authorization: "Bearer tmfa_wrong" },
  });

describe("wrong metrics tokens", () => {
  it("are slowed down past the address's budget, with Retry-After", async () => {
    for (let guess = 0; guess < 3; guess++) {
      expect(
        (await metrics(`Bearer guess${String(guess)}-of-the-metrics-token-padded`)).statusCode,
      ).toBe(401);
    }
    const slowed = await metrics("Bearer guess4-of-the-metrics-token-padded");
    expect(slowed.statusCode).toBe(429);
    expect(slowed.json<{ code: string }>().code).toBe("auth.rate_limited");
    expect(Number(slowed.headers["retry-after"])).toBeGreaterThan(0);
    expect(slowed.body).not.toContain("tenant_mfa_");
    // Another address has a budget of its own.
    expect(
      (await metrics("Bearer guess5-of-the-metrics-token-padded", "203.0.113.10")).statusCode,
    ).toBe(401);
  });

  it("share the budget with wrong API keys, both ways", async () => {
    expect((await wrongKey()).statusCode).toBe(401);
    expect((await wrongKey()).statusCode).toBe(401);
    expect((await metrics("Bearer guess-of-the-metrics-token-padded")).statusCode).toBe(401);
    expect((await wrongKey()).statusCode).toBe(429);
    expect((await metrics("Bearer another-guess-of-the-metrics-token")).statusCode).toBe(429);
  });

  it("never slow down the right token", async () => {
    for (let guess = 0; guess < 4; guess++)
      await metrics(`Bearer guess${String(guess)}-padded-to-the-tokens-length`);
    expect((await metrics("Bearer one-more-guess-padded-to-its-length")).statusCode).toBe(429);
    const right = await metrics(`Bearer ${TOKEN}`);
    expect(right.statusCode).toBe(200);
    expect(right.body).toContain("tenant_mfa_http_requests_total");
  });
});
