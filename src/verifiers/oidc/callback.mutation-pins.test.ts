/**
 * Threat: a callback from another IdP (mix-up, RFC 9207) or a code exchange that is not this
 * client's, taken because a check of callback.ts or token-request.ts could be deleted without any
 * other test noticing (a mutation survey). Each test pins one such check.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createAttackBench,
  STATE,
  validClaims,
  type AttackBench,
} from "./test-support/attack-fixture.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;
let bench: AttackBench;

beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(async () => {
  await stub.close();
});
beforeEach(async () => {
  stub.discoveryOverrides = {};
  stub.tokenAnswer = undefined;
  stub.nextIdToken = await stub.sign(validClaims(stub));
  bench = createAttackBench(stub);
});

function callback(query: string) {
  return bench.present(stub.nextIdToken, { callbackUrl: `${stub.redirectUri}?${query}` });
}

describe("the authorization response's iss (RFC 9207)", () => {
  it("refuses iss given twice, even when both name the IdP, without redeeming the code", async () => {
    const tokenRequests = stub.requests.token;
    const iss = encodeURIComponent(stub.issuer);
    const result = await callback(`code=abc&state=${STATE}&iss=${iss}&iss=${iss}`);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.issuer_mismatch" } });
    expect(stub.requests.token).toBe(tokenRequests);
  });
});

describe("the caller's own expectations (a bad one is a bug, and throws)", () => {
  it("throws for an invalid now: with NaN for a clock no time claim could be judged", async () => {
    await expect(bench.present(stub.nextIdToken, { now: new Date(Number.NaN) })).rejects.toThrow(
      RangeError,
    );
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])(
    "throws for a clock skew of %d",
    async (clockSkewSeconds) => {
      await expect(bench.present(stub.nextIdToken, { clockSkewSeconds })).rejects.toThrow(
        RangeError,
      );
    },
  );

  it.each([-1, 1.5, Number.NaN])("throws for a max_age of %d", async (maxAgeSeconds) => {
    await expect(bench.present(stub.nextIdToken, { maxAgeSeconds })).rejects.toThrow(RangeError);
  });
});
