/**
 * Threat: a check of the ID token that could be deleted or weakened without any other test
 * noticing (a mutation survey of id-token*.ts and signing-algorithms.ts). Each test pins one
 * check the attack matrix left unpinned: it fails when that check is removed, and names what the
 * check refuses. Every token is signed with the IdP's real key unless the test says otherwise.
 */
import { base64url, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createAttackBench,
  NOW_S,
  SKEW,
  validClaims,
  type AttackBench,
} from "./test-support/attack-fixture.js";
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
  stub.publishedKeys = [stub.key.publicJwk];
  bench = createAttackBench(stub);
  jwksBefore = stub.requests.jwks;
});

function jwksFetches(): number {
  return stub.requests.jwks - jwksBefore;
}

function encode(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

/** RS256 with the IdP's own key over exactly `signingInput`, whatever its segments hold. */
async function signInput(signingInput: string): Promise<string> {
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    stub.key.privateKey,
    new TextEncoder().encode(signingInput),
  );
  return `${signingInput}.${base64url.encode(new Uint8Array(signature))}`;
}

const HEADER = () => ({ alg: "RS256", kid: stub.key.kid });

describe("the token's shape, checked before any key is looked up", () => {
  it("refuses a genuinely signed ID token longer than 16 KiB", async () => {
    const claims = { ...validClaims(stub), padding: "x".repeat(16 * 1024) };
    const result = await bench.present(await stub.sign(claims));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
    expect(jwksFetches()).toBe(0);
  });

  it("refuses a two-segment token naming the IdP's key without fetching the key set", async () => {
    const token = `${encode(HEADER())}.${encode(validClaims(stub))}`;
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
    expect(jwksFetches()).toBe(0);
  });

  it("refuses a header that is JSON null as malformed, without throwing", async () => {
    const token = await signInput(`${encode(null)}.${encode(validClaims(stub))}`);
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
  });

  it("refuses critical header extensions without fetching the key set", async () => {
    const token = await stub.signRaw({ ...HEADER(), crit: ["exp"], exp: 0 }, validClaims(stub));
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
    expect(jwksFetches()).toBe(0);
  });

  it("refuses a token that declares a nested JWT (cty), even when its payload is claims", async () => {
    const token = await stub.signRaw({ ...HEADER(), cty: "JWT" }, validClaims(stub));
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
  });
});

describe("the signature and the payload it covers", () => {
  it("reports a signed payload that is not base64url as malformed, not as a bad signature", async () => {
    // Five characters: no base64url decoding of that length exists, yet each is in the alphabet.
    const token = await signInput(`${encode(HEADER())}.eyJhI`);
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
  });

  it("refuses a signed payload that is a JSON array as malformed, without throwing", async () => {
    const token = await signInput(`${encode(HEADER())}.${encode([validClaims(stub)])}`);
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_malformed" } });
  });
});

describe("which published keys may verify which algorithm", () => {
  it("refuses an RS256 token whose kid names an EC key: no RSA key has that id", async () => {
    const { publicKey } = await generateKeyPair("ES256", { extractable: true });
    const ec = { ...(await exportJWK(publicKey)), kid: "ec-key", use: "sig" };
    stub.publishedKeys = [stub.key.publicJwk, ec];
    const token = await stub.signRaw({ alg: "RS256", kid: "ec-key" }, validClaims(stub));
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
  });

  it("refuses a token signed by the IdP's key when the set publishes that key for encryption", async () => {
    stub.publishedKeys = [{ ...stub.key.publicJwk, use: "enc" }];
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
  });

  it("refuses an RS256 signature by a key the IdP pinned to RS384", async () => {
    stub.publishedKeys = [{ ...stub.key.publicJwk, alg: "RS384" }];
    const result = await bench.present(await stub.sign(validClaims(stub)));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
  });

  it("refuses an ES256 token whose kid names a P-384 key: no P-256 key has that id", async () => {
    const { publicKey } = await generateKeyPair("ES384", { extractable: true });
    const p384 = { ...(await exportJWK(publicKey)), kid: "p384-key", use: "sig" };
    stub.publishedKeys = [p384];
    const idp = { ...stub.idp, idTokenAlgorithms: ["ES256"] };
    const token = `${encode({ alg: "ES256", kid: "p384-key" })}.${encode(validClaims(stub))}.${base64url.encode(new Uint8Array(64))}`;
    const result = await bench.present(token, {}, idp);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
  });
});

describe("claims that tie the token to this sign-in", () => {
  it("refuses an empty nonce when the sign-in expects an empty one: no nonce binds nothing", async () => {
    const claims = { ...validClaims(stub), nonce: "" };
    const result = await bench.present(await stub.sign(claims), { expectedNonce: "" });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.nonce_mismatch" } });
  });

  describe("sub, when the subject is another claim", () => {
    const byEmail = () => ({ ...stub.idp, subjectClaim: "email" });
    const withEmail = () => ({ ...validClaims(stub), email: "user@example.org" });

    it.each([
      ["an empty sub", { sub: "" }],
      ["a numeric sub", { sub: 42 }],
    ])("refuses %s: every ID token names its subject (OIDC Core §2)", async (_name, edit) => {
      const result = await bench.present(
        await stub.sign({ ...withEmail(), ...edit }),
        {},
        byEmail(),
      );
      expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.subject_missing" } });
    });

    it("refuses an empty subject claim", async () => {
      const claims = { ...withEmail(), email: "" };
      const result = await bench.present(await stub.sign(claims), {}, byEmail());
      expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.subject_missing" } });
    });
  });
});

describe("what a verified token carries", () => {
  it("keeps its array claims frozen: the verified evidence cannot be edited after the checks", async () => {
    const claims = { ...validClaims(stub), aud: ["client-a"], azp: "client-a" };
    const result = await bench.present(await stub.sign(claims));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.isFrozen(result.value.claims.aud)).toBe(true);
    expect(Object.isFrozen(result.value.claims.amr)).toBe(true);
  });
});

describe("time claims at the edge of the allowed skew", () => {
  /** The default of maxIdTokenAgeSeconds: how long after issue a token may reach the callback. */
  const MAX_ID_TOKEN_AGE = 300;

  it("refuses an iat 1 s older than the maximum token age plus skew", async () => {
    const claims = { ...validClaims(stub), iat: NOW_S - MAX_ID_TOKEN_AGE - SKEW - 1 };
    const result = await bench.present(await stub.sign(claims));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.issued_at_invalid" } });
  });

  it("accepts an iat exactly the maximum token age plus skew old", async () => {
    const claims = { ...validClaims(stub), iat: NOW_S - MAX_ID_TOKEN_AGE - SKEW };
    expect((await bench.present(await stub.sign(claims))).ok).toBe(true);
  });

  it("refuses an auth_time 1 s beyond the skew ahead", async () => {
    const claims = { ...validClaims(stub), auth_time: NOW_S + SKEW + 1 };
    const result = await bench.present(await stub.sign(claims));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.claims_invalid" } });
  });

  it("accepts an auth_time exactly the skew ahead", async () => {
    const claims = { ...validClaims(stub), auth_time: NOW_S + SKEW };
    expect((await bench.present(await stub.sign(claims))).ok).toBe(true);
  });
});
