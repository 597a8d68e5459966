/**
 * Threat: keys that keep verifying after the IdP stopped publishing them, and key sets that are
 * not what the IdP serves (checklist O12), through a cache or fetch rule that could be weakened
 * without any other test noticing (a mutation survey of jwks.ts and discovery.ts). Each test pins
 * one such rule.
 */
import { exportJWK, type JWK } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { createKeySets } from "./jwks.js";
import { listenOnLoopback, type LoopbackServer } from "./test-support/loopback-server.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";
import { CacheBudget, DEFAULT_CACHE_MAX_BYTES } from "./cache-budget.js";

let stub: StubIdp;
let bench: AttackBench;
/** A second key-set endpoint, on another origin, that discovery can move the IdP's keys to. */
let elsewhere: LoopbackServer;
let elsewhereKeys: JWK[] = [];
let elsewhereRequests = 0;
let elsewhereStatus = 200;
/** Resolves when a request to `/hang`, never answered, is closed by the client. */
let hangClosed: Promise<void> = Promise.resolve();

beforeAll(async () => {
  stub = await startStubIdp();
  elsewhere = await listenOnLoopback((req, res) => {
    if (req.url === "/hang") {
      hangClosed = new Promise((resolve) => {
        res.on("close", resolve);
      });
      return;
    }
    if (req.url?.startsWith("/large") === true) {
      // A valid key set padded past the 256 KiB every IdP answer is capped at.
      const body = JSON.stringify({ keys: [stub.key.publicJwk], padding: "x".repeat(300_000) });
      res.setHeader("content-type", "application/json");
      if (req.url === "/large-declared") {
        res.end(body);
      } else {
        // Written in parts without a length: chunked, so only counting what arrives can tell.
        res.write(body.slice(0, 1000));
        res.end(body.slice(1000));
      }
      return;
    }
    if (req.url === "/moved") {
      res.statusCode = 302;
      res.setHeader("location", `${stub.issuer}/jwks`);
      res.end();
      return;
    }
    elsewhereRequests += 1;
    res.statusCode = elsewhereStatus;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: elsewhereKeys }));
  });
});
afterAll(async () => {
  await Promise.all([stub.close(), elsewhere.close()]);
});
beforeEach(() => {
  stub.publishedKeys = [stub.key.publicJwk];
  stub.discoveryOverrides = {};
  stub.jwksMode = "up";
  elsewhereKeys = [];
  elsewhereRequests = 0;
  elsewhereStatus = 200;
  bench = createAttackBench(stub, { discoveryMaxAgeMs: 1_000 });
});

describe("the key set follows the jwks_uri that discovery names", () => {
  it("refuses a key cached from the old jwks_uri once discovery names a new one", async () => {
    const token = await stub.sign(validClaims(stub));
    expect((await bench.present(token)).ok).toBe(true);

    const next = await stub.newKey("moved-key");
    elsewhereKeys = [next.publicJwk];
    stub.discoveryOverrides = { jwks_uri: `${elsewhere.origin}/jwks` };
    // Discovery has aged out and is fetched again; the old key set is still young, and a refetch
    // for an unknown kid would still be within its cooldown.
    bench.clock.now += 2_000;

    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(elsewhereRequests).toBe(1);
    expect((await bench.present(await stub.sign(validClaims(stub), {}, next))).ok).toBe(true);
    expect(elsewhereRequests).toBe(1);
  });
});

describe("the refetch for a kid the cached set does not know", () => {
  it("reports a key set that cannot be refetched as unavailable, not the kid as unknown", async () => {
    expect((await bench.present(await stub.sign(validClaims(stub)))).ok).toBe(true);
    stub.jwksMode = "down";
    bench.clock.now += 31_000;
    const rotated = await stub.newKey("rotated-key");
    const result = await bench.present(await stub.sign(validClaims(stub), {}, rotated));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
  });

  it("does not fetch a set just fetched again for an unknown kid, even with no cooldown", async () => {
    const noCooldown = createAttackBench(stub, { jwksCooldownMs: 0 });
    const before = stub.requests.jwks;
    const stranger = await stub.newKey("unknown-key");
    const result = await noCooldown.present(await stub.sign(validClaims(stub), {}, stranger));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(stub.requests.jwks - before).toBe(1);
  });
});

describe("what a key set document must be", () => {
  it("fails closed when the JWKS's keys member is not an array: no key set, not an empty one", async () => {
    stub.publishedKeys = { keys: [stub.key.publicJwk] } as unknown as JWK[];
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
  });

  it("fails closed when the JWKS endpoint answers an error status, whatever its body holds", async () => {
    elsewhereKeys = [stub.key.publicJwk];
    elsewhereStatus = 500;
    stub.discoveryOverrides = { jwks_uri: `${elsewhere.origin}/jwks` };
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
  });
});

describe("keys dropped when the set is fetched", () => {
  it("does not verify with a published key that carries its private half", async () => {
    const privateJwk = { ...(await exportJWK(stub.key.privateKey)), kid: stub.key.kid, use: "sig" };
    stub.publishedKeys = [privateJwk];
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
  });

  it("does not verify a token without kid with a key whose kid is not a string", async () => {
    stub.publishedKeys = [{ ...stub.key.publicJwk, kid: 5 } as unknown as JWK];
    const token = await stub.signRaw({ alg: "RS256" }, validClaims(stub));
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
  });
});

describe("concurrent sign-ins", () => {
  it("share one fetch of a key set that is not cached yet", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const keySets = createKeySets({
      fetch: async (url, init) => {
        await gate;
        return fetch(url, init);
      },
      timeoutMs: 5_000,
      maxAgeMs: 600_000,
      cooldownMs: 30_000,
      clock: () => 0,
      budget: new CacheBudget(DEFAULT_CACHE_MAX_BYTES),
    });
    const before = stub.requests.jwks;
    const request = { alg: "RS256", kid: stub.key.kid };
    const both = Promise.all([
      keySets.keysFor(stub.issuer, `${stub.issuer}/jwks`, request),
      keySets.keysFor(stub.issuer, `${stub.issuer}/jwks`, request),
    ]);
    release();
    const [first, second] = await both;
    expect(first.ok && second.ok).toBe(true);
    expect(stub.requests.jwks - before).toBe(1);
  });
});

describe("requests to the key set endpoint", () => {
  it("does not follow a redirect from the jwks_uri, even to the IdP's own key set", async () => {
    stub.discoveryOverrides = { jwks_uri: `${elsewhere.origin}/moved` };
    const before = stub.requests.jwks;
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
    expect(stub.requests.jwks).toBe(before);
  });

  it.each([
    ["a declared length", "/large-declared"],
    ["no declared length (chunked)", "/large"],
  ])("refuses a key set larger than 256 KiB with %s", async (_name, path) => {
    stub.discoveryOverrides = { jwks_uri: `${elsewhere.origin}${path}` };
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
  });

  it("aborts the request to a key set endpoint that does not answer in time", async () => {
    const impatient = createAttackBench(stub, { jwksTimeoutMs: 200 });
    stub.discoveryOverrides = { jwks_uri: `${elsewhere.origin}/hang` };
    const result = await impatient.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
    // The connection is closed by this side, not left open until the endpoint gives up.
    await hangClosed;
  });
});
