/**
 * Threat: a discovery document this relying party should not act on (an error answer, endpoints
 * with credentials or fragments, an issuer with a query), taken because a check of discovery.ts
 * could be deleted without any other test noticing (a mutation survey). Each test pins one check.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDiscovery } from "./discovery.js";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { listenOnLoopback, type LoopbackServer } from "./test-support/loopback-server.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";
import { CacheBudget, DEFAULT_CACHE_MAX_BYTES } from "./cache-budget.js";

let stub: StubIdp;
let bench: AttackBench;
/** An IdP whose discovery answer each test sets: any path, this status and document. */
let odd: LoopbackServer;
let oddAnswer: { status: number; document: (origin: string) => Record<string, unknown> };
let oddRequests = 0;

beforeAll(async () => {
  stub = await startStubIdp();
  odd = await listenOnLoopback((_req, res) => {
    oddRequests += 1;
    res.statusCode = oddAnswer.status;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(oddAnswer.document(odd.origin)));
  });
});
afterAll(async () => {
  await Promise.all([stub.close(), odd.close()]);
});
beforeEach(() => {
  stub.discoveryOverrides = {};
  bench = createAttackBench(stub);
});

/** The stub's discovery document, as if `issuer` published it. */
const documentOf = (issuer: string) => ({
  issuer,
  authorization_endpoint: `${stub.issuer}/authorize`,
  token_endpoint: `${stub.issuer}/token`,
  jwks_uri: `${stub.issuer}/jwks`,
});

describe("the discovery answer", () => {
  it("refuses a document that comes with an error status", async () => {
    oddAnswer = { status: 500, document: documentOf };
    const idp = { ...stub.idp, issuer: odd.origin };
    const result = await bench.rp.authorizationUrl(idp, {
      redirectUri: stub.redirectUri,
      state: "s",
      nonce: "n",
      codeVerifier: "v".repeat(43),
      acrValues: [],
      forceLogin: false,
    });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
  });

  it("does not keep a refused document: the next sign-in asks again and succeeds", async () => {
    stub.discoveryOverrides = { issuer: `${stub.issuer}/other` };
    const token = await stub.sign(validClaims(stub));
    const refused = await bench.present(token);
    expect(refused).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
    stub.discoveryOverrides = {};
    expect((await bench.present(token)).ok).toBe(true);
  });

  it("refuses a registered issuer with a query (OIDC Discovery §3), whatever answers there", async () => {
    const issuer = `${odd.origin}/tenant?x=1`;
    oddAnswer = { status: 200, document: () => documentOf(issuer) };
    const idp = { ...stub.idp, issuer };
    const result = await bench.present(
      await stub.sign({ ...validClaims(stub), iss: issuer }),
      {},
      idp,
    );
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
  });
});

describe("pages waiting for discovery", () => {
  it("do not ask an IdP whose discovery just failed again within the failure memory", async () => {
    oddAnswer = { status: 500, document: documentOf };
    oddRequests = 0;
    expect(await bench.rp.authorizationEndpoint(odd.origin)).toBeUndefined();
    expect(await bench.rp.authorizationEndpoint(odd.origin)).toBeUndefined();
    expect(oddRequests).toBe(1);
    bench.clock.now += 60_000;
    expect(await bench.rp.authorizationEndpoint(odd.origin)).toBeUndefined();
    expect(oddRequests).toBe(2);
  });
});

describe("the endpoints a document names", () => {
  it.each([
    ["user credentials", (jwks: string) => jwks.replace("http://", "http://user:pass@")],
    ["a fragment", (jwks: string) => `${jwks}#keys`],
  ])("refuses a jwks_uri with %s", async (_name, edit) => {
    stub.discoveryOverrides = { jwks_uri: edit(`${stub.issuer}/jwks`) };
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
  });
});

describe("endpoint values", () => {
  it("refuses a jwks_uri given as an array holding the URL: a URL is a string", async () => {
    stub.discoveryOverrides = { jwks_uri: [`${stub.issuer}/jwks`] };
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
  });
});

describe("concurrent sign-ins", () => {
  it("share one fetch of a discovery document that is not cached yet", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const discovery = createDiscovery({
      fetch: async (url, init) => {
        await gate;
        return fetch(url, init);
      },
      timeoutMs: 5_000,
      maxAgeMs: 3_600_000,
      clock: () => 0,
      allowHttp: true,
      pageWaitMs: 500,
      failureMemoryMs: 60_000,
      budget: new CacheBudget(DEFAULT_CACHE_MAX_BYTES),
    });
    const before = stub.requests.discovery;
    const both = Promise.all([
      discovery.metadataFor(stub.issuer),
      discovery.metadataFor(stub.issuer),
    ]);
    release();
    const [first, second] = await both;
    expect(first.ok && second.ok).toBe(true);
    expect(stub.requests.discovery - before).toBe(1);
  });
});
