/**
 * Threat: an ID token whose algorithm the attacker chose (RFC 8725 §2.1, §3.1; checklist O1, O2):
 * `alg: none`, a stripped signature, or HS256 keyed with the IdP's public RSA key, which any
 * verifier that takes the algorithm from the header would accept.
 */
import { createPublicKey, type JsonWebKey } from "node:crypto";
import { base64url, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;
let bench: AttackBench;

beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(async () => {
  await stub.close();
});
beforeEach(() => {
  bench = createAttackBench(stub);
});

/** The attack: the IdP's published RSA key, as PEM, used as an HMAC secret. */
function forgeHs256WithPublicPem(): Promise<string> {
  const pem = createPublicKey({ key: stub.key.publicJwk as JsonWebKey, format: "jwk" })
    .export({ type: "spki", format: "pem" })
    .toString();
  return new SignJWT(validClaims(stub))
    .setProtectedHeader({ alg: "HS256", kid: stub.key.kid })
    .sign(new TextEncoder().encode(pem));
}

function encode(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

describe("the ID token's algorithm comes from the registration, never from its header", () => {
  it("accepts the well-formed RS256 token these attacks start from", async () => {
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result.ok).toBe(true);
  });

  it.each([
    ["alg none with an empty signature", { alg: "none" }, "", "oidc.id_token_malformed"],
    ["alg NONE with an empty signature", { alg: "NONE" }, "", "oidc.id_token_malformed"],
    ["alg none with a filler signature", { alg: "none" }, "AAAA", "oidc.algorithm_not_allowed"],
    ["alg NONE with a filler signature", { alg: "NONE" }, "AAAA", "oidc.algorithm_not_allowed"],
    ["alg None with a filler signature", { alg: "None" }, "AAAA", "oidc.algorithm_not_allowed"],
    ["no alg at all", { typ: "JWT" }, "AAAA", "oidc.id_token_malformed"],
  ])("refuses %s", async (_name, header, signature, code) => {
    const token = `${encode(header)}.${encode(validClaims(stub))}.${signature}`;
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code } });
    expect(stub.requests.attacker).toBe(0);
  });

  it("refuses a genuine RS256 token whose signature was stripped", async () => {
    const [header, payload] = (await stub.sign(validClaims(stub))).split(".");
    const result = await bench.present(`${header}.${payload}.`);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
  });

  it("refuses a token of two segments", async () => {
    const [header, payload] = (await stub.sign(validClaims(stub))).split(".");
    const result = await bench.present(`${header}.${payload}`);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
  });

  it("refuses an encrypted (five-segment) token", async () => {
    const result = await bench.present("a.b.c.d.e");
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
  });

  it("refuses HS256 keyed with the IdP's RSA public key as PEM", async () => {
    const result = await bench.present(await forgeHs256WithPublicPem());
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.algorithm_not_allowed" } });
  });

  it("refuses HS256 even when the registration lists it: symmetric algorithms are never used", async () => {
    const idp = { ...stub.idp, idTokenAlgorithms: ["RS256", "HS256"] };
    const result = await bench.present(await forgeHs256WithPublicPem(), {}, idp);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.algorithm_not_allowed" } });
  });

  it("refuses an ES256 token when the registration allows RS256 only", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const token = await new SignJWT(validClaims(stub))
      .setProtectedHeader({ alg: "ES256", kid: stub.key.kid })
      .sign(privateKey);
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.algorithm_not_allowed" } });
  });

  it("refuses a token signed by another key under the IdP's kid (oidc.signature_invalid)", async () => {
    const impostor = await stub.newKey(stub.key.kid);
    const token = await stub.sign(validClaims(stub), {}, impostor);
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.signature_invalid" } });
  });

  it("refuses a genuine signature over an edited payload (oidc.signature_invalid)", async () => {
    const [header, , signature] = (await stub.sign(validClaims(stub))).split(".");
    const edited = encode({ ...validClaims(stub), sub: "admin" });
    const result = await bench.present(`${header}.${edited}.${signature}`);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.signature_invalid" } });
  });

  it("refuses critical header extensions it does not understand", async () => {
    const header = {
      alg: "RS256",
      kid: stub.key.kid,
      crit: ["urn:example:ext"],
      "urn:example:ext": 1,
    };
    const token = await stub.signRaw(header, validClaims(stub));
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
  });
});
