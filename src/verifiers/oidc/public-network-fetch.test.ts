// Threat: server-side request forgery through a tenant's IdP registration. A tenant administrator
// names the issuer and the IdP's discovery document names the endpoints; without a guard, this
// server's requests could be pointed at its own network (a cloud metadata service, an admin
// interface) and what answered read back from rejection details. IPv6 forms that carry an IPv4
// address (mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by that address, or refused.
import type { LookupAddress } from "node:dns";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  isNonPublicAddress,
  lookupPublicAddresses,
  NonPublicAddressError,
  publicNetworkFetch,
  type ResolveHost,
} from "./public-network-fetch.js";
import { listenOnLoopback, type LoopbackServer } from "./test-support/loopback-server.js";

describe("isNonPublicAddress", () => {
  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fd00::1",
    "fe80::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "0:0:0:0:0:ffff:7f00:1",
    "::127.0.0.1",
    "::169.254.169.254",
    "64:ff9b::169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
    "2002:a00:1::5",
    "fec0::1",
    "2001:db8::1",
    "2001:0:4136:e378::1",
    "not an address",
  ])("counts %s as not public", (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each([
    "8.8.8.8",
    "172.32.0.1",
    "192.0.2.1",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
  ])("counts %s as public", (address) => {
    expect(isNonPublicAddress(address)).toBe(false);
  });
});

describe("publicNetworkFetch", () => {
  let server: LoopbackServer;
  let port: string;
  let requests = 0;
  beforeEach(async () => {
    requests = 0;
    server = await listenOnLoopback((_request, response) => {
      requests += 1;
      response.end("{}");
    });
    port = new URL(server.origin).port;
  });
  afterEach(async () => {
    await server.close();
  });

  /** The guard over a resolver with fixed answers, and the names it was asked about. */
  function guard(answers: Record<string, readonly string[]>) {
    const asked: string[] = [];
    const lookup: ResolveHost = (hostname) => {
      asked.push(hostname);
      return Promise.resolve(answers[hostname] ?? []);
    };
    const guarded = publicNetworkFetch({ lookup });
    return { asked, fetch: (url: string) => guarded(url, { method: "GET" }) };
  }

  it.each([
    ["127.0.0.1", "http://127.0.0.1:{port}/.well-known/openid-configuration"],
    ["::1", "http://[::1]:{port}/jwks"],
    // The URL parser writes a mapped address in hex.
    ["::ffff:7f00:1", "http://[::ffff:127.0.0.1]:{port}/token"],
    ["169.254.169.254", "http://169.254.169.254/latest/meta-data/"],
    ["::ffff:a00:1", "https://[::ffff:10.0.0.1]/token"],
  ])("refuses the literal %s without a lookup or a connection", async (address, template) => {
    const g = guard({});
    const refusal = g.fetch(template.replace("{port}", port));
    await expect(refusal).rejects.toBeInstanceOf(NonPublicAddressError);
    await expect(refusal).rejects.toThrow(`(${address})`);
    expect(g.asked).toEqual([]);
    expect(requests).toBe(0);
  });

  it("refuses a name with any address off the public internet, or with none", async () => {
    const g = guard({
      "mixed.example": ["93.184.216.34", "10.0.0.7"],
      "internal.example": ["192.168.0.10"],
    });
    await expect(g.fetch("https://mixed.example/jwks")).rejects.toThrow(/10\.0\.0\.7/);
    await expect(g.fetch("https://internal.example/jwks")).rejects.toThrow(/192\.168\.0\.10/);
    await expect(g.fetch("https://nowhere.example/jwks")).rejects.toThrow(/no address/);
    expect(g.asked).toEqual(["mixed.example", "internal.example", "nowhere.example"]);
  });

  it("makes no request once closed, and closes again without complaint", async () => {
    const guarded = publicNetworkFetch({ lookup: () => Promise.resolve(["93.184.216.34"]) });
    await guarded.close();
    const refused = guarded("https://idp.example/jwks", { method: "GET" });
    await expect(refused).rejects.toThrow("The IdP connection pool is closed.");
    await guarded.close();
  });
});

describe("lookupPublicAddresses, the lookup every connection of the guard makes", () => {
  /** What the lookup hands the socket for `answer`, asked as `net` asks it. */
  function handOver(answer: readonly string[], options: { all: boolean; family?: number }) {
    const lookup = lookupPublicAddresses(() => Promise.resolve(answer));
    return new Promise<{ error: Error | null; address: string | LookupAddress[]; family?: number }>(
      (resolve) => {
        lookup("idp.example", options, (error, address, family) => {
          resolve({ error, address, ...(family === undefined ? {} : { family }) });
        });
      },
    );
  }

  it("hands the socket exactly the addresses it vetted, and nothing else", async () => {
    const all = await handOver(["93.184.216.34", "2606:2800:220:1::1"], { all: true });
    expect(all).toEqual({
      error: null,
      address: [
        { address: "93.184.216.34", family: 4 },
        { address: "2606:2800:220:1::1", family: 6 },
      ],
    });
    const one = await handOver(["93.184.216.34", "2606:2800:220:1::1"], { all: false, family: 6 });
    expect(one).toEqual({ error: null, address: "2606:2800:220:1::1", family: 6 });
  });

  it("judges an IPv4-mapped IPv6 answer by its IPv4 address", async () => {
    const mappedPublic = await handOver(["::ffff:93.184.216.34"], { all: true });
    expect(mappedPublic).toEqual({
      error: null,
      address: [{ address: "::ffff:93.184.216.34", family: 6 }],
    });
    const mappedLoopback = await handOver(["::ffff:127.0.0.1"], { all: true });
    expect(mappedLoopback.error).toBeInstanceOf(NonPublicAddressError);
    expect(mappedLoopback.error?.message).toContain("(::ffff:127.0.0.1)");
  });

  it("hands over nothing when one answer of several is off the public internet", async () => {
    const mixed = await handOver(["93.184.216.34", "169.254.169.254"], { all: true });
    expect(mixed.error).toBeInstanceOf(NonPublicAddressError);
    expect(mixed.address).toBe("");
  });
});
