/**
 * Threat: IdP host names whose name servers never answer. `dns.lookup` (getaddrinfo) runs on
 * libuv's thread pool, four threads that WebCrypto, fs and zlib share, and holds its thread
 * until the resolver gives up: a tenant administrator registering a few IdPs under such names
 * (or an IdP's discovery naming them) would stall every signature check and file access of the
 * server while sign-ins asked for them. IdP lookups take at most two of the pool's threads; a
 * fetch waiting for one fails at its own timeout, and a lookup given up on is never started.
 */
import { describe, expect, it } from "vitest";
import { fetchJson } from "./fetch-json.js";
import { createOidcProtocol } from "./index.js";
import { anyNetworkFetch, publicNetworkFetch, type ResolveHost } from "./public-network-fetch.js";

/**
 * A resolver that answers nothing until `answerAll`, then a loopback address the guard refuses
 * (and nothing listens on at port 443), to every lookup; counts the lookups started.
 */
function silentResolver() {
  const pending: ((addresses: readonly string[]) => void)[] = [];
  let answering = false;
  const resolver = {
    started: [] as string[],
    lookup: ((hostname) => {
      resolver.started.push(hostname);
      if (answering) return Promise.resolve(["127.0.0.1"]);
      return new Promise<readonly string[]>((resolve) => {
        pending.push(resolve);
      });
    }) as ResolveHost,
    answerAll() {
      answering = true;
      for (const resolve of pending.splice(0)) resolve(["127.0.0.1"]);
    },
  };
  return resolver;
}

const idpAt = (host: string) => ({
  issuer: `https://${host}`,
  clientId: "client-a",
  clientSecret: "secret-a",
  scopes: ["openid"],
  idTokenAlgorithms: ["RS256"],
  subjectClaim: "sub",
});

describe("IdP host name lookups", () => {
  // With `any`, only the connection looks names up; with `public`, the guard first.
  it.each([
    ["public", publicNetworkFetch],
    ["any", anyNetworkFetch],
  ] as const)(
    "run at most two at once (idpNetwork %s), however many IdP fetches wait on names that never answer",
    async (_network, idpFetch) => {
      const resolver = silentResolver();
      const fetchAtIdps = idpFetch({ lookup: resolver.lookup });
      const answers = await Promise.all(
        ["a", "b", "c", "d", "e"].map((name) =>
          fetchJson(fetchAtIdps, `https://${name}.slow.example/jwks`, { method: "GET" }, 200),
        ),
      );
      for (const answer of answers) {
        expect(answer).toEqual({ ok: false, reason: "no answer within 200 ms" });
      }
      expect(resolver.started).toHaveLength(2);
      resolver.answerAll();
      await fetchAtIdps.close();
    },
  );

  it("fail a sign-in's discovery waiting for a lookup at its own timeout, and never start a lookup given up on", async () => {
    const resolver = silentResolver();
    const guarded = publicNetworkFetch({ lookup: resolver.lookup });
    const rp = createOidcProtocol({ fetch: guarded, discoveryTimeoutMs: 200 });
    const authorization = {
      redirectUri: "https://rp.example/callback",
      state: "state",
      nonce: "nonce",
      codeVerifier: "v".repeat(43),
      acrValues: [],
      forceLogin: false,
    };
    const outcomes = await Promise.all(
      ["a", "b", "c"].map((name) =>
        rp.authorizationUrl(idpAt(`${name}.slow.example`), authorization),
      ),
    );
    for (const outcome of outcomes) {
      expect(outcome).toEqual({
        ok: false,
        rejection: {
          code: "oidc.discovery_failed",
          detail: "discovery no answer within 200 ms",
        },
      });
    }
    expect(resolver.started).toEqual(["a.slow.example", "b.slow.example"]);

    // The name servers answer at last: the slots are free, and the third lookup stays given up.
    resolver.answerAll();
    const next = await fetchJson(guarded, "https://d.slow.example/jwks", { method: "GET" }, 200);
    expect(next).toEqual({ ok: false, reason: "request failed (NonPublicAddress)" });
    expect(resolver.started).toEqual(["a.slow.example", "b.slow.example", "d.slow.example"]);
    await guarded.close();
  });
});
