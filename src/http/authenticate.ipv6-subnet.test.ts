/**
 * Threat: guessing API keys from many addresses. The back-off on wrong API keys counts per client
 * address; a client holding an IPv6 /64 (one subscriber usually holds a whole one) must not get a
 * fresh budget from each of its 2^64 addresses. It counts as the verification throttle and the
 * rate limit count: an IPv6 address by its /64, an IPv4 address as it is, an IPv4 address mapped
 * into IPv6 as the IPv4 one.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { failureKey } from "./authenticate.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

let t: TestServer;
beforeEach(async () => {
  t = await openTestServer({ authFailureLimit: { attempts: 3, windowMs: 60_000 } });
});
afterEach(() => t.close());

let guess = 0;
/** Sends a wrong API key from `remoteAddress`; returns the status. */
async function wrongKeyFrom(remoteAddress: string): Promise<number> {
  guess += 1;
  const response = await t.server.inject({
    method: "GET",
    url: "/v1/tenants",
    remoteAddress,
    headers: { authorization: `Bearer tmfa_wrong${String(guess)}` },
  });
  return response.statusCode;
}

describe("API-key back-off by client network", () => {
  it("counts every address of one IPv6 /64 together", async () => {
    const statuses = [];
    for (const address of ["2001:db8:1:2::1", "2001:db8:1:2::abcd", "2001:db8:1:2:ffff::9"]) {
      statuses.push(await wrongKeyFrom(address));
    }
    expect(statuses).toEqual([401, 401, 401]);
    // A fourth address of the same /64, written in another form, is already slowed down.
    expect(await wrongKeyFrom("2001:DB8:1:2:0:0:0:77")).toBe(429);
    expect(await wrongKeyFrom("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe(429);
    // Another /64 has a budget of its own.
    expect(await wrongKeyFrom("2001:db8:1:3::1")).toBe(401);
  });

  it("counts an IPv4 address exactly, and the same address mapped into IPv6 as it", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(await wrongKeyFrom("198.51.100.7")).toBe(401);
    }
    expect(await wrongKeyFrom("::ffff:198.51.100.7")).toBe(429);
    expect(await wrongKeyFrom("::ffff:c633:6407")).toBe(429);
    // Its neighbour is another client.
    expect(await wrongKeyFrom("198.51.100.8")).toBe(401);
  });

  it("still lets a valid key through from a /64 that is slowed down", async () => {
    for (let attempt = 0; attempt < 3; attempt++) await wrongKeyFrom(`2001:db8:9:9::${attempt}`);
    expect(await wrongKeyFrom("2001:db8:9:9::42")).toBe(429);
    const valid = await t.server.inject({
      method: "GET",
      url: "/v1/tenants",
      remoteAddress: "2001:db8:9:9::42",
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(valid.statusCode).toBe(200);
  });
});

describe("failureKey", () => {
  it("keeps an address that is not an IP address (a trusted proxy's odd entry) as it is", () => {
    expect(failureKey("unknown")).toBe("unknown");
    expect(failureKey("2001:db8:1:2::1")).toBe(failureKey("2001:db8:1:2:3:4:5:6"));
  });
});
