/**
 * Threat: an ID token that brings its own key, or names where to fetch one (RFC 8725 §3.10,
 * checklist O3), and key ids chosen to make the verifier look somewhere or fetch something
 * (path traversal, SQL, a flood of invented kids against the JWKS endpoint; checklist O12).
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;
let bench: AttackBench;
let jwksBefore: number;

beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(async () => {
  await stub.close();
});
beforeEach(() => {
  bench = createAttackBench(stub);
  jwksBefore = stub.requests.jwks;
});

function jwksFetches(): number {
  return stub.requests.jwks - jwksBefore;
}

describe("keys come only from the issuer's JWKS", () => {
  it("refuses an embedded jwk, signed by the attacker's own key, without fetching anything", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const token = await new SignJWT(validClaims(stub))
      .setProtectedHeader({ alg: "RS256", jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.header_forbidden" } });
    expect(jwksFetches()).toBe(0);
  });

  it.each(["jku", "x5u"])("refuses %s and never fetches it", async (parameter) => {
    const token = await stub.signRaw(
      { alg: "RS256", kid: "attacker", [parameter]: stub.attackerUrl },
      validClaims(stub),
    );
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.header_forbidden" } });
    expect(stub.requests.attacker).toBe(0);
    expect(jwksFetches()).toBe(0);
  });

  it("refuses x5c, even alongside the IdP's own kid", async () => {
    const token = await stub.signRaw(
      { alg: "RS256", kid: stub.key.kid, x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] },
      validClaims(stub),
    );
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.header_forbidden" } });
    expect(jwksFetches()).toBe(0);
  });

  it.each([
    ["a path traversal", "../../etc/passwd"],
    ["SQL", "' OR 1=1 --"],
    ["a URL with a query", "https://evil.example/keys?x=1"],
    ["an overlong id", "k".repeat(500)],
    ["a number", 7],
  ])("refuses a kid that is %s without looking it up", async (_name, kid) => {
    const token = await stub.signRaw({ alg: "RS256", kid }, validClaims(stub));
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(jwksFetches()).toBe(0);
  });
});

describe("unknown key ids refetch the JWKS at most once per cooldown", () => {
  it("refetches once for an unknown kid after the cooldown, then rejects", async () => {
    expect((await bench.present(await stub.sign(validClaims(stub)))).ok).toBe(true);
    expect(jwksFetches()).toBe(1);
    bench.clock.now += 31_000;
    const stranger = await stub.newKey("stranger");
    const result = await bench.present(await stub.sign(validClaims(stub), {}, stranger));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(jwksFetches()).toBe(2);
  });

  it("does not refetch for an unknown kid within the cooldown of the last fetch", async () => {
    expect((await bench.present(await stub.sign(validClaims(stub)))).ok).toBe(true);
    bench.clock.now += 29_000;
    const stranger = await stub.newKey("stranger");
    const result = await bench.present(await stub.sign(validClaims(stub), {}, stranger));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(jwksFetches()).toBe(1);
  });

  it("answers a flood of invented kids with one JWKS fetch per cooldown", async () => {
    expect((await bench.present(await stub.sign(validClaims(stub)))).ok).toBe(true);
    const flood = async (round: string) => {
      const tokens = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          stub.signRaw({ alg: "RS256", kid: `${round}-${i}` }, validClaims(stub)),
        ),
      );
      const results = await Promise.all(tokens.map((token) => bench.present(token)));
      for (const result of results) {
        expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
      }
    };
    bench.clock.now += 31_000;
    await flood("first");
    expect(jwksFetches()).toBe(2);
    bench.clock.now += 10_000;
    await flood("second");
    expect(jwksFetches()).toBe(2);
    bench.clock.now += 21_000;
    await flood("third");
    expect(jwksFetches()).toBe(3);
    // The genuine key still verifies throughout.
    expect((await bench.present(await stub.sign(validClaims(stub)))).ok).toBe(true);
  });
});
