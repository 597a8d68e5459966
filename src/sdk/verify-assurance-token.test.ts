import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJoseTokenSigner } from "../tokens/jose-token-signer.js";
import { AssuranceTokenError } from "./assurance-token-error.js";
import { ASSURANCE_TOKEN_TYPE } from "./assurance-token-claims.js";
import {
  AUDIENCE,
  ISSUER,
  openAssuranceFixture,
  TENANT,
  type AssuranceFixture,
} from "./test-support/assurance-fixture.js";
import {
  verifyAssuranceToken,
  type VerifyAssuranceTokenOptions,
} from "./verify-assurance-token.js";

// Threat: a platform accepting a token tenant-mfa did not sign for it: forged (alg none, HS256
// keyed with the public key, an attacker's key named by kid, jwk or jku), altered, replayed after
// expiry, meant for another audience, issuer, tenant or user, or of another type. Every case has
// its own stable code, and the key set is fetched from the real server's JWKS endpoint.
let f: AssuranceFixture;
beforeAll(async () => {
  f = await openAssuranceFixture();
});
afterAll(() => f.close());

const verify = (token: string, options: Partial<VerifyAssuranceTokenOptions> = {}) =>
  verifyAssuranceToken(token, {
    jwksUrl: f.jwksUrl,
    issuer: ISSUER,
    audience: AUDIENCE,
    tenant: TENANT,
    currentDate: f.server.clock.now(),
    ...options,
  } as VerifyAssuranceTokenOptions);

const refusedWith = async (token: Promise<unknown>, code: string) => {
  const error: unknown = await token.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AssuranceTokenError);
  expect((error as AssuranceTokenError).code).toBe(code);
};

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
const headerOf = (token: string) =>
  JSON.parse(new TextDecoder().decode(base64url.decode(token.split(".")[0]!))) as Record<
    string,
    unknown
  >;

/** Signs `claims` with `key` under a header of the attacker's choosing. */
const forge = async (
  claims: object,
  header: Record<string, unknown>,
  key: Parameters<SignJWT["sign"]>[0],
) => new SignJWT({ ...claims }).setProtectedHeader(header as { alg: string }).sign(key);

describe("verifyAssuranceToken accepts what tenant-mfa signed", () => {
  it("returns the typed claims of a token signed by the server's active key, fetched from its JWKS", async () => {
    const claims = f.claims();
    const token = await f.sign(claims);
    expect(headerOf(token)).toMatchObject({ alg: "ES256", typ: "tenant-mfa-assurance+jwt" });
    const verified = await verify(token);
    expect(verified).toEqual(claims);
    expect(Object.isFrozen(verified)).toBe(true);
  });

  it("keeps only the claims it knows: an extra claim never reaches the platform", async () => {
    const token = await f.sign({ ...f.claims(), admin: true });
    const verified = await verify(token);
    expect(verified).not.toHaveProperty("admin");
    expect(verified.sub).toBe("alice");
  });

  it("carries an exemption when the sign-in was excused", async () => {
    const exemption = { id: "exm_1", expires_at: f.nowSeconds() + 86_400 };
    const verified = await verify(await f.sign(f.claims({ exemption, aal: 1, phr: false })));
    expect(verified.exemption).toEqual(exemption);
    expect(verified.aal).toBe(1);
  });

  it("refuses a token that outlives the exemption behind it, as expired, with the tolerance", async () => {
    const ends = f.nowSeconds() + 120;
    const token = await f.sign(
      f.claims({ exemption: { id: "exm_1", expires_at: ends }, exp: ends + 600, aal: 1 }),
    );
    const at = (seconds: number) => new Date(seconds * 1000);
    await expect(verify(token, { currentDate: at(ends + 59) })).resolves.toBeTruthy();
    await refusedWith(verify(token, { currentDate: at(ends + 60) }), "token.expired");
    await refusedWith(
      verify(token, { currentDate: at(ends), clockToleranceSeconds: 0 }),
      "token.expired",
    );
  });

  it("accepts EdDSA tokens verified with a local JWK Set", async () => {
    const signer = createJoseTokenSigner();
    const { publicJwk, privateJwk } = await signer.generateKey("EdDSA");
    const jwks = { keys: [{ ...publicJwk, kid: "ed-1", alg: "EdDSA", use: "sig" }] };
    const token = await signer.sign(
      f.claims(),
      { kid: "ed-1", alg: "EdDSA", privateJwk },
      ASSURANCE_TOKEN_TYPE,
    );
    expect(headerOf(token).alg).toBe("EdDSA");
    await expect(verify(token, { jwks, jwksUrl: undefined } as never)).resolves.toMatchObject({
      sub: "alice",
    });
  });
});

describe("verifyAssuranceToken refuses forgeries", () => {
  it("refuses a token whose payload was altered after signing", async () => {
    const [header, , signature] = (await f.sign(f.claims({ aal: 1 }))).split(".");
    const tampered = [header, encode(f.claims({ aal: 3 })), signature].join(".");
    await refusedWith(verify(tampered), "token.invalid");
    const [h2, , s2] = (await f.sign(f.claims())).split(".");
    await refusedWith(
      verify([h2, encode(f.claims({ sub: "mallory" })), s2].join(".")),
      "token.invalid",
    );
  });

  it("refuses a token signed by another key under the published kid", async () => {
    const { kid } = await f.activeKey();
    const { privateKey } = await generateKeyPair("ES256");
    const token = await forge(
      f.claims(),
      { alg: "ES256", kid, typ: "tenant-mfa-assurance+jwt" },
      privateKey,
    );
    await refusedWith(verify(token), "token.invalid");
  });

  it("refuses a token naming a key the server never published", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const token = await forge(
      f.claims(),
      { alg: "ES256", kid: "attacker", typ: "tenant-mfa-assurance+jwt" },
      privateKey,
    );
    await refusedWith(verify(token), "token.invalid");
  });

  it("ignores a key embedded in the header (jwk): the attacker's own key proves nothing", async () => {
    const { kid } = await f.activeKey();
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = await exportJWK(publicKey);
    const token = await forge(
      f.claims(),
      { alg: "ES256", kid, jwk, typ: "tenant-mfa-assurance+jwt" },
      privateKey,
    );
    await refusedWith(verify(token), "token.invalid");
  });

  it("never fetches a key set named in the header (jku)", async () => {
    let requests = 0;
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const attackerSet = { keys: [{ ...(await exportJWK(publicKey)), kid: "evil", alg: "ES256" }] };
    const attacker: Server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(attackerSet));
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    try {
      const jku = `http://127.0.0.1:${String((attacker.address() as AddressInfo).port)}/jwks.json`;
      const token = await forge(
        f.claims(),
        { alg: "ES256", kid: "evil", jku, typ: "tenant-mfa-assurance+jwt" },
        privateKey,
      );
      await refusedWith(verify(token), "token.invalid");
      expect(requests).toBe(0);
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }
  });

  it("refuses alg none, with or without a signature segment", async () => {
    const header = encode({ alg: "none", typ: "tenant-mfa-assurance+jwt" });
    const payload = encode(f.claims());
    await refusedWith(verify(`${header}.${payload}.`), "token.invalid");
    await refusedWith(
      verify(`${encode({ alg: "NONE", typ: "tenant-mfa-assurance+jwt" })}.${payload}.`),
      "token.invalid",
    );
    await refusedWith(verify(`${header}.${payload}`), "token.malformed");
  });

  it("refuses HS256 keyed with the published public key (JWK or PEM) as the HMAC secret", async () => {
    const { kid, privateJwk } = await f.activeKey();
    const { d: _d, ...publicJwk } = privateJwk;
    const pem = await exportSPKI(
      (await importJWK(publicJwk, "ES256", { extractable: true })) as CryptoKey,
    );
    for (const secret of [JSON.stringify(publicJwk), pem]) {
      const token = await forge(
        f.claims(),
        { alg: "HS256", kid, typ: "tenant-mfa-assurance+jwt" },
        new TextEncoder().encode(secret),
      );
      await refusedWith(verify(token), "token.invalid");
    }
  });

  it("refuses a token of another type, even signed by the right key", async () => {
    const { kid, privateJwk } = await f.activeKey();
    const key = await importJWK(privateJwk, "ES256");
    for (const header of [
      { alg: "ES256", kid, typ: "JWT" },
      { alg: "ES256", kid, typ: "at+jwt" },
      { alg: "ES256", kid },
    ])
      await refusedWith(verify(await forge(f.claims(), header, key)), "token.wrong_type");
  });

  it("refuses what is not a JWT at all", async () => {
    for (const token of ["abc", "a.b.c", "....", `${encode({ alg: "ES256" })}.e30`])
      await refusedWith(verify(token), "token.malformed");
    await refusedWith(verify(""), "token.missing");
  });
});

describe("verifyAssuranceToken refuses a genuine token used out of place or out of time", () => {
  it("refuses an expired token, honouring the clock tolerance to the second", async () => {
    const claims = f.claims();
    const token = await f.sign(claims);
    const at = (seconds: number) => new Date(seconds * 1000);
    // jose: expired when exp <= now - tolerance.
    await expect(verify(token, { currentDate: at(claims.exp + 59) })).resolves.toBeTruthy();
    await refusedWith(verify(token, { currentDate: at(claims.exp + 60) }), "token.expired");
    await expect(
      verify(token, { currentDate: at(claims.exp - 1), clockToleranceSeconds: 0 }),
    ).resolves.toBeTruthy();
    await refusedWith(
      verify(token, { currentDate: at(claims.exp), clockToleranceSeconds: 0 }),
      "token.expired",
    );
  });

  it("refuses a token not valid yet: nbf, iat or auth_time ahead of now beyond the tolerance", async () => {
    const now = f.nowSeconds();
    await refusedWith(verify(await f.sign(f.claims({ nbf: now + 61 }))), "token.not_yet_valid");
    await expect(verify(await f.sign(f.claims({ nbf: now + 60 })))).resolves.toBeTruthy();
    // jose accepts a future iat unless maxTokenAge is set: the SDK checks it itself.
    await refusedWith(verify(await f.sign(f.claims({ iat: now + 61 }))), "token.not_yet_valid");
    await expect(verify(await f.sign(f.claims({ iat: now + 60 })))).resolves.toBeTruthy();
    await refusedWith(
      verify(await f.sign(f.claims({ auth_time: now + 61 }))),
      "token.not_yet_valid",
    );
  });

  it("refuses a token for another audience, including one audience among several", async () => {
    await refusedWith(
      verify(await f.sign(f.claims({ aud: "another-app" }))),
      "token.wrong_audience",
    );
    await refusedWith(
      verify(await f.sign(f.claims()), { audience: "another-app" }),
      "token.wrong_audience",
    );
    // An array naming us and someone else is not a token issued to us alone (FAL2: one audience).
    await refusedWith(
      verify(await f.sign(f.claims({ aud: [AUDIENCE, "another-app"] }))),
      "token.invalid_claims",
    );
  });

  it("refuses a token from another issuer, compared exactly (trailing slash and case count)", async () => {
    for (const iss of ["https://evil.test", "https://mfa.test/", "https://MFA.test"])
      await refusedWith(verify(await f.sign(f.claims({ iss }))), "token.wrong_issuer");
  });

  // jose skips the iss and aud checks when given none: a JavaScript caller's unset setting
  // (a missing environment variable) must not turn them off.
  it("refuses to verify at all without an issuer or an audience to check", async () => {
    const token = await f.sign(f.claims({ iss: "https://evil.test", aud: "another-app" }));
    for (const missing of [{ issuer: undefined }, { audience: undefined }, { issuer: "" }])
      await expect(verify(token, missing as Partial<VerifyAssuranceTokenOptions>)).rejects.toThrow(
        TypeError,
      );
  });

  // One tenant-mfa signs every tenant's tokens with the same keys, for the platform's one
  // audience: a check that leaves the tenant out lets tenant A's MFA pass for B's user of that id.
  it("refuses to verify at all without a tenant to check", async () => {
    const token = await f.sign(f.claims({ tenant: "globex" }));
    for (const missing of [{ tenant: undefined }, { tenant: "" }, { tenant: 7 }])
      await expect(verify(token, missing as Partial<VerifyAssuranceTokenOptions>)).rejects.toThrow(
        /tenant is required/,
      );
  });

  it("refuses a token for another tenant or another principal", async () => {
    const token = await f.sign(f.claims({ tenant: "globex" }));
    await refusedWith(verify(token), "token.wrong_tenant");
    await expect(verify(token, { tenant: "globex" })).resolves.toMatchObject({ tenant: "globex" });
    await refusedWith(verify(await f.sign(f.claims()), { subject: "bob" }), "token.wrong_subject");
    await expect(verify(await f.sign(f.claims()), { subject: "alice" })).resolves.toBeTruthy();
  });

  it.each([
    "iss",
    "sub",
    "aud",
    "tenant",
    "acr",
    "amr",
    "auth_time",
    "aal",
    "phr",
    "decision",
    "policy_versions",
    "iat",
    "exp",
    "jti",
  ])("refuses a token without its %s claim", async (claim) => {
    const claims = Object.fromEntries(
      Object.entries(f.claims()).filter(([name]) => name !== claim),
    );
    await refusedWith(verify(await f.sign(claims)), "token.invalid_claims");
  });

  it.each([
    ["aal", "3"],
    ["aal", 4],
    ["phr", "true"],
    ["amr", "mfa"],
    ["amr", ["mfa", 1]],
    ["auth_time", "1700000000"],
    ["sub", ""],
    ["tenant", 7],
    ["policy_versions", { tenant_policy: "1", mandates: [] }],
    ["policy_versions", { tenant_policy: 1, mandates: [{ id: "m" }] }],
    ["exemption", { id: "exm_1" }],
  ])("refuses a token whose %s claim is %j", async (claim, value) => {
    await refusedWith(verify(await f.sign(f.claims({ [claim]: value }))), "token.invalid_claims");
  });
});

describe("verifyAssuranceToken fails closed on its keys", () => {
  it("refuses every token when the key set cannot be fetched", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await refusedWith(
      verify(await f.sign(f.claims()), {
        jwksUrl: `http://127.0.0.1:${String(port)}/.well-known/jwks.json`,
      }),
      "token.keys_unavailable",
    );
  });

  it("refuses every token when a key getter the platform supplies fails to fetch", async () => {
    const failing = () => Promise.reject(new TypeError("fetch failed"));
    await refusedWith(
      verify(await f.sign(f.claims()), { jwks: failing, jwksUrl: undefined } as never),
      "token.keys_unavailable",
    );
  });

  it("refuses a key set URL in clear text off loopback", async () => {
    await expect(
      verify(await f.sign(f.claims()), { jwksUrl: "http://mfa.example/.well-known/jwks.json" }),
    ).rejects.toThrow(TypeError);
  });

  it("does not take keys from a JWK Set holding a symmetric key", async () => {
    const secret = new TextEncoder().encode("a shared secret of thirty-two bytes!");
    const jwks = {
      keys: [{ kty: "oct", k: base64url.encode(secret), kid: "sym", alg: "HS256" }],
    } as { keys: JWK[] };
    const token = await forge(
      f.claims(),
      { alg: "HS256", kid: "sym", typ: "tenant-mfa-assurance+jwt" },
      secret,
    );
    await refusedWith(verify(token, { jwks, jwksUrl: undefined } as never), "token.invalid");
  });
});

describe("verifyAssuranceToken across a key rotation", () => {
  it("accepts tokens of the published successor once it signs, from the key set fetched before", async () => {
    const g = await openAssuranceFixture();
    try {
      const options = { jwksUrl: g.jwksUrl, issuer: ISSUER, audience: AUDIENCE, tenant: TENANT };
      const before = await g.activeKey();
      // Two days before the 30-day key retires, its successor is published beside it.
      g.server.clock.advance(28.5 * 86_400);
      await g.keys.active();
      const old = await g.sign(g.claims());
      await expect(
        verifyAssuranceToken(old, { ...options, currentDate: g.server.clock.now() }),
      ).resolves.toBeTruthy();
      g.server.clock.advance(2 * 86_400);
      const after = await g.activeKey();
      expect(after.kid).not.toBe(before.kid);
      const token = await g.sign(g.claims());
      expect(headerOf(token).kid).toBe(after.kid);
      // Milliseconds after the first fetch, jose's 30 s cooldown forbids a refetch: the successor
      // can only come from the set fetched while it was prepublished.
      await expect(
        verifyAssuranceToken(token, { ...options, currentDate: g.server.clock.now() }),
      ).resolves.toMatchObject({ sub: "alice" });
    } finally {
      await g.close();
    }
  });
});
