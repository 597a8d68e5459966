/**
 * Threat: a key set that cannot be fetched (tenant-mfa restarting, overloaded, a proxy answering
 * 503) turned every token the platform is shown into a fetch of it: `jose` refetches a key set it
 * has not got, or whose cache has expired, at every call, and applies its 30 s cooldown only to
 * unknown `kid`s. Anyone can send the platform requests carrying a well-formed token (no
 * signature is checked before the key is looked up), so during an outage each request became a
 * request to tenant-mfa's JWKS: hammering it as it tries to come back, from every process of the
 * platform. A failed fetch refuses tokens as `token.keys_unavailable` for 5 s without fetching
 * again, then the next token fetches once more; the refusal itself is as before (fail closed).
 * The pause holds off fetches only: keys fetched before the failure still verify while fresh, else
 * one junk token with an invented `kid` (a refetch that fails during the outage) would have the
 * platform refuse every genuine token, which it could still verify, for the 5 s that follow.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AUDIENCE,
  ISSUER,
  openAssuranceFixture,
  TENANT,
  type AssuranceFixture,
} from "./test-support/assurance-fixture.js";
import { verifyAssuranceToken } from "./verify-assurance-token.js";

let f: AssuranceFixture;
beforeAll(async () => {
  f = await openAssuranceFixture();
});
afterAll(() => f.close());

/** A key set URL that answers 503 while `down`, else the real key set; it counts its fetches. */
async function flakyKeySet(name: string) {
  const jwks = JSON.stringify(await f.keys.jwks());
  const state = { down: true, fetches: 0 };
  const server: Server = createServer((_req, res) => {
    state.fetches += 1;
    if (state.down) {
      res.writeHead(503, { "content-type": "text/plain" });
      res.end("unavailable");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // A path of its own per test: the SDK keeps one key set per URL for the process.
    url: `http://127.0.0.1:${String(port)}/${name}.json`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const codeOf = (token: string, jwksUrl: string) =>
  verifyAssuranceToken(token, {
    jwksUrl,
    issuer: ISSUER,
    audience: AUDIENCE,
    tenant: TENANT,
    currentDate: f.server.clock.now(),
  }).then(
    () => "verified",
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );

/** A well-formed token nobody signed, with a `kid` of its own: what anyone can send. */
const junk = (n: number) =>
  [
    Buffer.from(
      JSON.stringify({ alg: "ES256", kid: `k${String(n)}`, typ: "tenant-mfa-assurance+jwt" }),
    ).toString("base64url"),
    Buffer.from(JSON.stringify(f.claims())).toString("base64url"),
    Buffer.alloc(64).toString("base64url"),
  ].join(".");

describe("a key set that cannot be fetched", () => {
  it("is fetched once for a burst of tokens, genuine or junk, each refused as keys_unavailable", async () => {
    const keySet = await flakyKeySet("burst");
    try {
      const genuine = await f.sign(f.claims());
      const codes = new Set<string>();
      for (let n = 0; n < 40; n++)
        codes.add(await codeOf(n % 2 === 0 ? genuine : junk(n), keySet.url));
      expect([...codes]).toEqual(["token.keys_unavailable"]);
      expect(keySet.state.fetches).toBe(1);
    } finally {
      await keySet.close();
    }
  });

  it("is fetched again once the pause after a failure has passed, and then verifies", async () => {
    const keySet = await flakyKeySet("recovery");
    try {
      const genuine = await f.sign(f.claims());
      expect(await codeOf(genuine, keySet.url)).toBe("token.keys_unavailable");
      keySet.state.down = false;
      expect(await codeOf(genuine, keySet.url)).toBe("token.keys_unavailable");
      expect(keySet.state.fetches).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 5_100));
      expect(await codeOf(genuine, keySet.url)).toBe("verified");
      expect(keySet.state.fetches).toBe(2);
    } finally {
      await keySet.close();
    }
  }, 15_000);
});

describe("a key set fetched before an outage", () => {
  it("still verifies tokens of the keys it holds while the pause after a failed refetch lasts", async () => {
    const keySet = await flakyKeySet("cached-through-outage");
    // `jose` refetches for an unknown `kid` once 30 s have passed since its last fetch: the
    // clock `jose` and the pause read moves past them, within the set's 5 min of freshness.
    const realNow = Date.now.bind(Date);
    const later = vi.spyOn(Date, "now");
    try {
      keySet.state.down = false;
      const genuine = await f.sign(f.claims());
      expect(await codeOf(genuine, keySet.url)).toBe("verified");
      expect(keySet.state.fetches).toBe(1);
      keySet.state.down = true;
      later.mockImplementation(() => realNow() + 31_000);
      expect(await codeOf(junk(1), keySet.url)).toBe("token.keys_unavailable");
      expect(keySet.state.fetches).toBe(2);
      expect(await codeOf(genuine, keySet.url)).toBe("verified");
      // Nor does the pause fetch for the next invented `kid`: refused as before, unfetched.
      expect(await codeOf(junk(2), keySet.url)).toBe("token.keys_unavailable");
      expect(keySet.state.fetches).toBe(2);
    } finally {
      later.mockRestore();
      await keySet.close();
    }
  });
});
