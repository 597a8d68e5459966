/**
 * Threat: one key too weak to rely on in an IdP's published set (an RSA key under 2048 bits, left
 * there from before a rollover) breaks every sign-in at that IdP for as long as the set is cached.
 * jose imports such a key and only refuses it when verifying, with a TypeError: taken as a
 * malformed token, it stopped the search before the IdP's real key was tried. It is skipped, and
 * never verifies anything.
 */
import { createSign, generateKeyPairSync } from "node:crypto";
import { base64url, type JWK } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;
let bench: AttackBench;
let published: JWK[];

/** A 1024-bit RSA key pair: its public JWK, and a token signed with it (RS256, no kid). */
function weakKey(): { readonly jwk: JWK; sign(claims: Record<string, unknown>): string } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  return {
    jwk: { ...(publicKey.export({ format: "jwk" }) as JWK), use: "sig" },
    sign(claims) {
      const input = `${base64url.encode(JSON.stringify({ alg: "RS256" }))}.${base64url.encode(JSON.stringify(claims))}`;
      const signature = createSign("RSA-SHA256").update(input).sign(privateKey);
      return `${input}.${base64url.encode(signature)}`;
    },
  };
}

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

describe("an RSA key under 2048 bits in the IdP's JWKS", () => {
  it("is passed over: a token without kid verifies with the strong key published after it", async () => {
    const { kid: _kid, ...strong } = stub.key.publicJwk;
    stub.publishedKeys = [weakKey().jwk, strong];
    const result = await bench.present(await stub.sign(validClaims(stub), { kid: undefined }));
    expect(result.ok).toBe(true);
  });

  it("verifies nothing: a token it signed is refused as unsigned by the IdP", async () => {
    const weak = weakKey();
    stub.publishedKeys = [weak.jwk];
    const result = await bench.present(weak.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.signature_invalid" } });
  });
});
