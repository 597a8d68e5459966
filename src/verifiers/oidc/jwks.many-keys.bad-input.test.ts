/**
 * Threat: an IdP (or whoever registers one: a tenant administrator) makes every sign-in at it
 * cost this server seconds of work (DESIGN invariant 8). A token that names no key (`kid`) was
 * tried with every published key of its algorithm, and 256 KiB of JWKS holds some 600 RSA or
 * 1,000 P-521 keys: one callback then ran as many signature verifications (about 10 s, 1.8 s of
 * it on the event loop, for P-521, measured), on the thread pool that every request shares. At
 * most 10 published keys are tried for one token; a token that names none of its IdP's more
 * numerous keys is refused as `oidc.key_unknown`, before any verification.
 */
import { generateKeyPairSync } from "node:crypto";
import type { JWK } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createAttackBench, validClaims } from "./test-support/attack-fixture.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;
/** A foreign RSA public key, as a JWK without `kid`; copies of it are as costly as distinct keys. */
let foreign: JWK;

beforeAll(async () => {
  stub = await startStubIdp();
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  foreign = { ...(publicKey.export({ format: "jwk" }) as JWK), use: "sig" };
});
afterAll(async () => {
  await stub.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** `count` copies of the foreign key, each its own object (the verifier imports each). */
const copies = (count: number, kid?: (i: number) => string): JWK[] =>
  Array.from({ length: count }, (_, i) => ({
    ...foreign,
    ...(kid === undefined ? {} : { kid: kid(i) }),
  }));

/** Presents `token` and counts the signature verifications it cost. */
async function present(token: string) {
  const verify = vi.spyOn(crypto.subtle, "verify");
  const result = await createAttackBench(stub).present(token);
  return { result, verifications: verify.mock.calls.length };
}

describe("a JWKS with many keys", () => {
  it("refuses a token naming no key among 500 that fit it, without verifying with any", async () => {
    const { kid: _stubKid, ...real } = stub.key.publicJwk;
    stub.publishedKeys = [...copies(500), real];
    const { result, verifications } = await present(
      await stub.sign(validClaims(stub), { kid: undefined }),
    );
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(verifications).toBe(0);
  });

  it("verifies a token naming its key by kid among 500, with that key alone", async () => {
    stub.publishedKeys = [...copies(500, (i) => `old-${String(i)}`), stub.key.publicJwk];
    const { result, verifications } = await present(await stub.sign(validClaims(stub)));
    expect(result.ok).toBe(true);
    expect(verifications).toBe(1);
  });

  it("tries up to 10 keys for a token naming none: the tenth verifies it", async () => {
    const { kid: _stubKid, ...real } = stub.key.publicJwk;
    stub.publishedKeys = [...copies(9), real];
    const { result, verifications } = await present(
      await stub.sign(validClaims(stub), { kid: undefined }),
    );
    expect(result.ok).toBe(true);
    expect(verifications).toBe(10);
  });
});
