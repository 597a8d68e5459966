// Threat: server-side request forgery through a tenant's IdP registration. A tenant administrator
// names the issuer and the IdP's discovery document names the endpoints; without a guard, this
// server's requests could be pointed at its own network (a cloud metadata service, an admin
// interface) and what answered read back from rejection details. IPv6 forms that carry an IPv4
// address (mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by that address, or refused.
import { describe, expect, it } from "vitest";
import type { FetchLike } from "./fetch-json.js";
import { isNonPublicAddress, publicNetworkFetch } from "./public-network-fetch.js";

/** A fetch that records what reached it, and a resolver with fixed answers. */
function world(answers: Record<string, readonly string[]>) {
  const reached: string[] = [];
  const inner: FetchLike = (input) => {
    reached.push(input);
    return Promise.resolve(new Response("{}"));
  };
  const guarded = publicNetworkFetch(inner, (hostname) => Promise.resolve(answers[hostname] ?? []));
  return { reached, fetch: (url: string) => guarded(url, { method: "GET" }) };
}

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
  it("reaches a host whose every address is public", async () => {
    const w = world({ "idp.example": ["93.184.216.34", "2606:2800:220:1::1"] });
    await w.fetch("https://idp.example/.well-known/openid-configuration");
    expect(w.reached).toEqual(["https://idp.example/.well-known/openid-configuration"]);
  });

  it.each([
    "https://127.0.0.1/.well-known/openid-configuration",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]:8443/jwks",
    "https://[::ffff:10.0.0.1]/token",
  ])("refuses %s without sending anything", async (url) => {
    const w = world({});
    await expect(w.fetch(url)).rejects.toThrow(/not on the public internet/);
    expect(w.reached).toEqual([]);
  });

  it("refuses a name with any address off the public internet, or with none", async () => {
    const w = world({
      "mixed.example": ["93.184.216.34", "10.0.0.7"],
      "internal.example": ["192.168.0.10"],
    });
    await expect(w.fetch("https://mixed.example/jwks")).rejects.toThrow(/10\.0\.0\.7/);
    await expect(w.fetch("https://internal.example/jwks")).rejects.toThrow(/192\.168\.0\.10/);
    await expect(w.fetch("https://nowhere.example/jwks")).rejects.toThrow(/no address/);
    expect(w.reached).toEqual([]);
  });
});
