/**
 * Threat: one malformed key in an IdP's published set breaks every sign-in at that IdP for as
 * long as the set is cached (DESIGN invariant 8). A key whose `key_ops` was `null` made the key
 * selection throw, and the callback answered 500 for ten minutes. A key whose members are not of
 * their JWK types (RFC 7517 §4: `use` and `alg` strings, `key_ops` an array of strings) says
 * nothing reliable about how it may be used: it is dropped when the set is fetched, like a key
 * with private material, and the keys beside it go on verifying.
 */
import type { JWK } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { keyFitsAlgorithm } from "./signing-algorithms.js";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;
let bench: AttackBench;
let published: JWK[];

beforeAll(async () => {
  stub = await startStubIdp();
  published = stub.publishedKeys;
});
afterAll(async () => {
  await stub.close();
});
beforeEach(() => {
  stub.publishedKeys = published;
  bench = createAttackBench(stub);
});

const MALFORMED: readonly [string, Record<string, unknown>][] = [
  ["key_ops null", { key_ops: null }],
  ["key_ops a string", { key_ops: "verify" }],
  ["key_ops holding a number", { key_ops: ["verify", 1] }],
  ["use null", { use: null }],
  ["use a number", { use: 1 }],
  ["alg null", { alg: null }],
  ["alg an array", { alg: ["RS256"] }],
  ["crv a number", { crv: 1 }],
];

describe("malformed keys in the IdP's JWKS", () => {
  it.each(MALFORMED)(
    "refuses a token whose only key has %s as an unknown key (oidc.key_unknown), without throwing",
    async (_name, members) => {
      stub.publishedKeys = [{ ...stub.key.publicJwk, ...members }];
      const result = await bench.present(await stub.sign(validClaims(stub)));
      expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    },
  );

  it.each(MALFORMED)(
    "verifies with the well-formed key published beside one with %s",
    async (_name, members) => {
      stub.publishedKeys = [
        { ...stub.key.publicJwk, ...members, kid: "broken" },
        stub.key.publicJwk,
      ];
      const result = await bench.present(await stub.sign(validClaims(stub)));
      expect(result.ok).toBe(true);
    },
  );

  it("does not fit a key whose key_ops is not an array to any algorithm", () => {
    const jwk = { ...stub.key.publicJwk, key_ops: null } as unknown as JWK;
    expect(keyFitsAlgorithm(jwk, "RS256")).toBe(false);
  });
});
