/**
 * Threat: keys that outlive their removal, or a verifier that fails open when the IdP's JWKS or
 * discovery cannot be had (checklist O12). Key sets fail closed, are refetched after their
 * maximum age, and a failing endpoint is not hammered.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { useCountedStub } from "./test-support/counted-stub.js";
import type { StubIdp } from "./test-support/stub-idp.js";

const counted = useCountedStub({ jwksTimeoutMs: 300 });
let stub: StubIdp;
let bench: AttackBench;
beforeEach(() => {
  ({ stub, bench } = counted);
});
const fetches = () => counted.fetches();

describe("JWKS availability", () => {
  it("fails closed when the JWKS endpoint is down", async () => {
    stub.jwksMode = "down";
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
  });

  it("fails closed when the JWKS endpoint never answers (its timeout ends the wait; without one the test would hang)", async () => {
    stub.jwksMode = "hang";
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
  });

  it("does not ask a failing JWKS endpoint again within the cooldown, and recovers after it", async () => {
    stub.jwksMode = "down";
    const token = await stub.sign(validClaims(stub));
    await bench.present(token);
    const again = await bench.present(token);
    expect(again).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
    expect(fetches().jwks).toBe(1);
    stub.jwksMode = "up";
    bench.clock.now += 30_000;
    expect((await bench.present(token)).ok).toBe(true);
    expect(fetches().jwks).toBe(2);
  });

  it("fails closed when the cached set has aged out and the endpoint is down: no stale keys", async () => {
    const token = await stub.sign(validClaims(stub));
    expect((await bench.present(token)).ok).toBe(true);
    stub.jwksMode = "down";
    bench.clock.now += 10 * 60_000;
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
  });
});

describe("key rotation at the IdP", () => {
  it("accepts a new kid after one refetch, and a removed key no longer once the set has aged out", async () => {
    const oldToken = await stub.sign(validClaims(stub));
    expect((await bench.present(oldToken)).ok).toBe(true);

    const next = await stub.newKey("stub-key-2");
    stub.publishedKeys = [next.publicJwk];
    bench.clock.now += 31_000;
    expect((await bench.present(await stub.sign(validClaims(stub), {}, next))).ok).toBe(true);
    expect(fetches().jwks).toBe(2);

    // The refetch already dropped the removed key: it verifies nothing from now on.
    const result = await bench.present(oldToken);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
  });

  it("stops trusting a removed key within the cache age even when no new kid forces a refetch", async () => {
    const token = await stub.sign(validClaims(stub));
    expect((await bench.present(token)).ok).toBe(true);
    stub.publishedKeys = [];
    bench.clock.now += 9 * 60_000;
    // Within the cache age the removed key still verifies: the documented bound of O12.
    expect((await bench.present(token)).ok).toBe(true);
    bench.clock.now += 60_000;
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(fetches().jwks).toBe(2);
  });
});

describe("discovery", () => {
  it("is fetched once per issuer and cached", async () => {
    const token = await stub.sign(validClaims(stub));
    await bench.present(token);
    await bench.present(token);
    expect(fetches().discovery).toBe(1);
  });

  it("refuses a discovery document that names another issuer", async () => {
    stub.discoveryOverrides = { issuer: `${stub.issuer}/` };
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
    // The code is never sent to an endpoint of a document that failed its issuer check.
    expect(fetches().token).toBe(0);
  });

  it("refuses a discovery document whose endpoints are not URLs", async () => {
    stub.discoveryOverrides = { jwks_uri: "not a url" };
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
  });

  it("refuses an http issuer unless http was enabled, without any request", async () => {
    const strict = createAttackBench(stub, { allowHttp: false });
    const token = await stub.sign(validClaims(stub));
    const result = await strict.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
    expect(fetches().discovery).toBe(0);
    const url = await strict.rp.authorizationUrl(stub.idp, {
      redirectUri: stub.redirectUri,
      state: "s",
      nonce: "n",
      codeVerifier: "v".repeat(43),
      acrValues: [],
      forceLogin: false,
    });
    expect(url).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
  });

  it("fails closed when discovery is unreachable", async () => {
    const idp = { ...stub.idp, issuer: "http://127.0.0.1:9/nobody" };
    const result = await bench.present(await stub.sign(validClaims(stub)), {}, idp);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.discovery_failed" } });
  });
});
