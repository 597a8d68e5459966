// Threat: DNS rebinding past the public-network guard. The name in an IdP's issuer or endpoints is
// the attacker's, and so is its DNS: it can answer a public address when the guard asks and
// 127.0.0.1 (or 169.254.169.254) when the connection asks a moment later, or serve a public and a
// private record in turn. The guard must judge the address the socket actually connects to.
// Here the name is `localhost`, so a connection that resolved the name itself would reach the
// loopback server below; each test proves it saw no request.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchJson } from "./fetch-json.js";
import {
  NonPublicAddressError,
  publicNetworkFetch,
  type ResolveHost,
} from "./public-network-fetch.js";
import { listenOnLoopback, type LoopbackServer } from "./test-support/loopback-server.js";

/** An address the guard counts as public (RFC 5737 TEST-NET-3): never connected to here. */
const PUBLIC = "203.0.113.10";

describe("publicNetworkFetch against a name whose answers change", () => {
  let server: LoopbackServer;
  let url: string;
  let requests = 0;
  beforeEach(async () => {
    requests = 0;
    server = await listenOnLoopback((_request, response) => {
      requests += 1;
      response.end("{}");
    });
    url = `http://localhost:${new URL(server.origin).port}/.well-known/openid-configuration`;
  });
  afterEach(async () => {
    await server.close();
  });

  /** A resolver that gives its answers in turn, the last one from then on; counts its calls. */
  function answersInTurn(...answers: readonly (readonly string[])[]) {
    const resolver = {
      calls: 0,
      lookup: ((_hostname) => {
        const answer = answers[Math.min(resolver.calls, answers.length - 1)] ?? [];
        resolver.calls += 1;
        return Promise.resolve(answer);
      }) as ResolveHost,
    };
    return resolver;
  }

  function fetchThrough(resolver: { lookup: ResolveHost }) {
    return publicNetworkFetch({ lookup: resolver.lookup })(url, { method: "GET" });
  }

  it("refuses a name that resolves to 127.0.0.1, and the loopback server sees no request", async () => {
    const refusal = fetchThrough(answersInTurn(["127.0.0.1"]));
    await expect(refusal).rejects.toBeInstanceOf(NonPublicAddressError);
    await expect(refusal).rejects.toThrow("(127.0.0.1)");
    expect(requests).toBe(0);
  });

  it("refuses at connect a name that answered a public address a moment before", async () => {
    const resolver = answersInTurn([PUBLIC], ["127.0.0.1"]);
    const refusal = fetchThrough(resolver);
    await expect(refusal).rejects.toBeInstanceOf(NonPublicAddressError);
    await expect(refusal).rejects.toThrow("(127.0.0.1)");
    // Asked once before the request, once by the connection: the second answer decided.
    expect(resolver.calls).toBe(2);
    expect(requests).toBe(0);
  });

  it("refuses a name with a public and a private A record, whether served together or in turn", async () => {
    await expect(fetchThrough(answersInTurn([PUBLIC, "127.0.0.1"]))).rejects.toThrow("(127.0.0.1)");
    const inTurn = answersInTurn([PUBLIC], [PUBLIC, "127.0.0.1"]);
    await expect(fetchThrough(inTurn)).rejects.toThrow("(127.0.0.1)");
    expect(inTurn.calls).toBe(2);
    expect(requests).toBe(0);
  });

  it.each(["::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:7f00:1"])(
    "judges the IPv4-mapped answer %s at connect by its IPv4 address",
    async (mapped) => {
      const resolver = answersInTurn([PUBLIC], [mapped]);
      await expect(fetchThrough(resolver)).rejects.toThrow(`(${mapped})`);
      expect(resolver.calls).toBe(2);
      expect(requests).toBe(0);
    },
  );

  it("makes a refusal at connect read as one before it in the rejection detail", async () => {
    const guarded = publicNetworkFetch({ lookup: answersInTurn([PUBLIC], ["127.0.0.1"]).lookup });
    expect(await fetchJson(guarded, url, { method: "GET" }, 5_000)).toEqual({
      ok: false,
      reason: "request failed (NonPublicAddress)",
    });
    expect(requests).toBe(0);
  });

  // The pool is made at the first request that passes the first look; closing must end it.
  it("closes the connection pool that a first request made", async () => {
    // Were the pool left open, the second request would connect, and be refused there instead.
    const resolver = answersInTurn([PUBLIC], ["127.0.0.1"], [PUBLIC], ["127.0.0.1"]);
    const guarded = publicNetworkFetch({ lookup: resolver.lookup });
    await expect(guarded(url, { method: "GET" })).rejects.toBeInstanceOf(NonPublicAddressError);
    await guarded.close();
    const afterClose = guarded(url, { method: "GET" });
    await expect(afterClose).rejects.toMatchObject({ cause: { code: "UND_ERR_DESTROYED" } });
    expect(resolver.calls).toBe(3);
    expect(requests).toBe(0);
  });
});
