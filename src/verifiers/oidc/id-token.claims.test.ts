/**
 * Threat: a validly signed token that is not this sign-in's ID token (OIDC Core §3.1.3.7;
 * checklist O4–O7, O10, O11): another issuer or tenant, another client, another sign-in's
 * nonce, outside its validity window, an access or logout token, or claims of the wrong shape.
 * Every row signs a genuine token with the IdP's key, so only the claim under test is wrong.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OidcRejectionCode } from "../../app/federation/protocols.js";
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

beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(async () => {
  await stub.close();
});
beforeEach(() => {
  bench = createAttackBench(stub);
});

type ClaimEdit = (claims: Record<string, unknown>, stub: StubIdp) => void;

const refused: [string, ClaimEdit, OidcRejectionCode][] = [
  ["iss with a trailing slash", (c, s) => (c.iss = `${s.issuer}/`), "oidc.issuer_mismatch"],
  [
    "iss in another case",
    (c, s) => (c.iss = s.issuer.replace("tenant-a", "Tenant-A")),
    "oidc.issuer_mismatch",
  ],
  [
    "iss of tenant B's IdP at the same vendor (shared keys)",
    (c, s) => (c.iss = s.issuer.replace("tenant-a", "tenant-b")),
    "oidc.issuer_mismatch",
  ],
  ["iss missing", (c) => delete c.iss, "oidc.issuer_mismatch"],
  ["aud of another client", (c) => (c.aud = "client-b"), "oidc.audience_mismatch"],
  ["aud missing", (c) => delete c.aud, "oidc.claims_invalid"],
  ["aud as an empty array", (c) => (c.aud = []), "oidc.claims_invalid"],
  ["several audiences and no azp", (c) => (c.aud = ["client-a", "client-b"]), "oidc.azp_mismatch"],
  [
    "several audiences and azp of the other",
    (c) => {
      c.aud = ["client-a", "client-b"];
      c.azp = "client-b";
    },
    "oidc.azp_mismatch",
  ],
  ["azp of another client", (c) => (c.azp = "client-b"), "oidc.azp_mismatch"],
  [
    "an untrusted extra audience, azp ours",
    (c) => {
      c.aud = ["client-a", "client-b"];
      c.azp = "client-a";
    },
    "oidc.audience_mismatch",
  ],
  ["nonce missing", (c) => delete c.nonce, "oidc.nonce_mismatch"],
  ["nonce of another sign-in", (c) => (c.nonce = "someone-elses"), "oidc.nonce_mismatch"],
  ["nonce as a number", (c) => (c.nonce = 1), "oidc.nonce_mismatch"],
  ["exp passed an hour ago", (c) => (c.exp = NOW_S - 3600), "oidc.expired"],
  ["exp passed 1 s beyond the skew", (c) => (c.exp = NOW_S - SKEW - 1), "oidc.expired"],
  // RFC 7519 §4.1.4: the current time MUST be before exp; at exp + skew it no longer is.
  ["exp exactly at the skew's edge", (c) => (c.exp = NOW_S - SKEW), "oidc.expired"],
  ["exp missing", (c) => delete c.exp, "oidc.claims_invalid"],
  ["exp as a string", (c) => (c.exp = String(NOW_S + 600)), "oidc.claims_invalid"],
  ["nbf an hour ahead", (c) => (c.nbf = NOW_S + 3600), "oidc.not_yet_valid"],
  ["nbf 1 s beyond the skew", (c) => (c.nbf = NOW_S + SKEW + 1), "oidc.not_yet_valid"],
  ["iat an hour ahead", (c) => (c.iat = NOW_S + 3600), "oidc.issued_at_invalid"],
  ["iat 1 s beyond the skew", (c) => (c.iat = NOW_S + SKEW + 1), "oidc.issued_at_invalid"],
  ["iat a day old", (c) => (c.iat = NOW_S - 86_400), "oidc.issued_at_invalid"],
  ["iat missing", (c) => delete c.iat, "oidc.claims_invalid"],
  ["auth_time in the future", (c) => (c.auth_time = NOW_S + 3600), "oidc.claims_invalid"],
  ["auth_time as a string", (c) => (c.auth_time = "yesterday"), "oidc.claims_invalid"],
  // A NumericDate past what a Date (or a four-digit ISO 8601 year) holds made an Invalid Date,
  // which failed the store's transaction: 503 store.unavailable instead of a refusal.
  ["exp absurdly far ahead (1e300)", (c) => (c.exp = 1e300), "oidc.claims_invalid"],
  ["exp past the year 9999", (c) => (c.exp = 253_402_300_800), "oidc.claims_invalid"],
  ["exp of Number.MAX_VALUE", (c) => (c.exp = Number.MAX_VALUE), "oidc.claims_invalid"],
  ["exp before 1970", (c) => (c.exp = -1), "oidc.claims_invalid"],
  ["nbf absurdly far back (-1e300)", (c) => (c.nbf = -1e300), "oidc.claims_invalid"],
  ["iat absurdly far back (-1e300)", (c) => (c.iat = -1e300), "oidc.claims_invalid"],
  ["auth_time absurdly far back (-1e300)", (c) => (c.auth_time = -1e300), "oidc.claims_invalid"],
  ["amr as a string", (c) => (c.amr = "mfa"), "oidc.claims_invalid"],
  ["amr with a number", (c) => (c.amr = ["pwd", 2]), "oidc.claims_invalid"],
  ["amr as an object", (c) => (c.amr = { mfa: true }), "oidc.claims_invalid"],
  ["acr as an array", (c) => (c.acr = ["https://refeds.org/profile/mfa"]), "oidc.claims_invalid"],
  ["sub missing", (c) => delete c.sub, "oidc.subject_missing"],
  ["sub empty", (c) => (c.sub = ""), "oidc.subject_missing"],
  [
    "logout token events",
    (c) => (c.events = { "http://schemas.openid.net/event/backchannel-logout": {} }),
    "oidc.token_type",
  ],
];

describe("claims that make a signed token not this sign-in's ID token", () => {
  it.each(refused)("refuses %s", async (_name, edit, code) => {
    const claims = validClaims(stub);
    edit(claims, stub);
    const result = await bench.present(await stub.sign(claims));
    expect(result).toMatchObject({ ok: false, rejection: { code } });
  });

  it("refuses tenant B's token signed by B's own key: A's JWKS has no such key", async () => {
    const keyOfB = await stub.newKey("tenant-b-key");
    const claims = { ...validClaims(stub), iss: stub.issuer.replace("tenant-a", "tenant-b") };
    const result = await bench.present(await stub.sign(claims, {}, keyOfB));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
  });
});

describe("audiences this client trusts besides itself (O5)", () => {
  // The untrusted-audience check refuses a token for another client on its own, unless that
  // client is trusted: then only the check that aud names this client is left to refuse it.
  beforeEach(() => {
    bench = createAttackBench(stub, { trustedAudiences: ["client-b"] });
  });

  it("accepts a token for this client that also names the trusted one, azp ours", async () => {
    const claims = { ...validClaims(stub), aud: ["client-a", "client-b"], azp: "client-a" };
    expect((await bench.present(await stub.sign(claims))).ok).toBe(true);
  });

  it("refuses a token for the trusted client alone: it does not name this one", async () => {
    const claims = { ...validClaims(stub), aud: "client-b" };
    const result = await bench.present(await stub.sign(claims));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.audience_mismatch" } });
  });
});

describe("clock skew is honoured to the second", () => {
  it.each([
    ["exp 1 s inside the skew", (c: Record<string, unknown>) => (c.exp = NOW_S - SKEW + 1)],
    ["nbf 1 s inside the skew", (c: Record<string, unknown>) => (c.nbf = NOW_S + SKEW - 1)],
    ["iat 1 s inside the skew", (c: Record<string, unknown>) => (c.iat = NOW_S + SKEW - 1)],
  ])("accepts %s", async (_name, edit) => {
    const claims = validClaims(stub);
    edit(claims);
    const result = await bench.present(await stub.sign(claims));
    expect(result.ok).toBe(true);
  });
});

describe("token types", () => {
  it.each(["at+jwt", "application/at+jwt", "logout+jwt", "secevent+jwt", "dpop+jwt"])(
    "refuses typ %s",
    async (typ) => {
      const result = await bench.present(await stub.sign(validClaims(stub), { typ }));
      expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.token_type" } });
    },
  );

  it.each(["JWT", "jwt", "application/jwt"])("accepts typ %s", async (typ) => {
    const result = await bench.present(await stub.sign(validClaims(stub), { typ }));
    expect(result.ok).toBe(true);
  });
});

describe("max_age and auth_time (OIDC Core §3.1.2.1)", () => {
  const maxAgeSeconds = 300;

  it("refuses a token without auth_time when max_age was sent", async () => {
    const claims = validClaims(stub);
    delete claims.auth_time;
    const result = await bench.present(await stub.sign(claims), { maxAgeSeconds });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.auth_time_missing" } });
  });

  it("refuses auth_time 1 s older than max_age plus skew", async () => {
    const claims = { ...validClaims(stub), auth_time: NOW_S - maxAgeSeconds - SKEW - 1 };
    const result = await bench.present(await stub.sign(claims), { maxAgeSeconds });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.auth_time_stale" } });
  });

  it("accepts auth_time exactly max_age plus skew ago", async () => {
    const claims = { ...validClaims(stub), auth_time: NOW_S - maxAgeSeconds - SKEW };
    const result = await bench.present(await stub.sign(claims), { maxAgeSeconds });
    expect(result.ok).toBe(true);
  });

  it("treats max_age=0 as 'authenticate now': only the skew is allowed", async () => {
    const fresh = { ...validClaims(stub), auth_time: NOW_S - SKEW };
    const stale = { ...validClaims(stub), auth_time: NOW_S - SKEW - 1 };
    expect((await bench.present(await stub.sign(fresh), { maxAgeSeconds: 0 })).ok).toBe(true);
    const result = await bench.present(await stub.sign(stale), { maxAgeSeconds: 0 });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.auth_time_stale" } });
  });

  it("accepts a token without auth_time when no max_age was sent", async () => {
    const claims = validClaims(stub);
    delete claims.auth_time;
    const result = await bench.present(await stub.sign(claims));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.authTime).toBeUndefined();
  });
});

describe("what a verified ID token carries", () => {
  it("keeps iss, sub, aud, azp, acr, amr, auth_time, iat and exp verbatim, and nothing else", async () => {
    const claims = {
      ...validClaims(stub),
      aud: ["client-a", "partner"],
      azp: "client-a",
      email: "user@example.org",
      sid: "session-1",
      at_hash: "abc",
    };
    const trusting = createAttackBench(stub, { trustedAudiences: ["partner"] });
    const result = await trusting.present(await stub.sign(claims));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.claims).toEqual({
      iss: stub.issuer,
      sub: "user-42",
      aud: ["client-a", "partner"],
      azp: "client-a",
      acr: "https://refeds.org/profile/mfa",
      amr: ["pwd", "mfa"],
      auth_time: NOW_S - 30,
      iat: NOW_S,
      exp: NOW_S + 600,
    });
    expect(result.value).toMatchObject({
      issuer: stub.issuer,
      subject: "user-42",
      acr: "https://refeds.org/profile/mfa",
      amr: ["pwd", "mfa"],
      nonce: "nonce-of-this-sign-in",
      authTime: new Date((NOW_S - 30) * 1000),
      expiresAt: new Date((NOW_S + 600) * 1000),
    });
    expect(Object.isFrozen(result.value.claims)).toBe(true);
  });

  it("names the subject by the registered claim", async () => {
    const idp = { ...stub.idp, subjectClaim: "email" };
    const claims = { ...validClaims(stub), email: "user@example.org" };
    const result = await bench.present(await stub.sign(claims), {}, idp);
    expect(result).toMatchObject({ ok: true, value: { subject: "user@example.org" } });
    const without = await bench.present(await stub.sign(validClaims(stub)), {}, idp);
    expect(without).toMatchObject({ ok: false, rejection: { code: "oidc.subject_missing" } });
  });
});
