/**
 * Threat: an IdP answer is taken as proof of MFA without being checked, or a check passes only
 * against hand-made tokens. These sign-ins run the whole authorization code flow against a real
 * `oidc-provider`, from our authorization URL to our verified ID token.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OidcAuthorizationOptions, OidcProtocol } from "../../app/federation/protocols.js";
import { createOidcProtocol } from "./index.js";
import { followToCallback } from "./test-support/browser.js";
import {
  PASSWORD_PROTECTED,
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "./test-support/oidc-provider-peer.js";

let peer: OidcProviderPeer;
let now = Date.now();
let rp: OidcProtocol;

beforeAll(async () => {
  peer = await startOidcProviderPeer();
});
afterAll(async () => {
  await peer.close();
});

function freshRelyingParty(): OidcProtocol {
  now = Date.now();
  return createOidcProtocol({ allowHttp: true, clock: () => now });
}

let counter = 0;
function authorization(
  overrides: Partial<OidcAuthorizationOptions> = {},
): OidcAuthorizationOptions {
  counter += 1;
  return {
    redirectUri: peer.redirectUri,
    state: `flow-${counter}-state`,
    nonce: `flow-${counter}-nonce`,
    codeVerifier: `verifier-${counter}-${"x".repeat(48)}`,
    acrValues: [],
    forceLogin: false,
    ...overrides,
  };
}

async function signIn(
  options: OidcAuthorizationOptions,
  callback: { maxAgeSeconds?: number; now?: Date; clockSkewSeconds?: number } = {},
  at: OidcProviderPeer = peer,
) {
  const url = await rp.authorizationUrl(at.idp, options);
  if (!url.ok) throw new Error(url.rejection.detail);
  const callbackUrl = await followToCallback(url.value, at.redirectUri);
  return rp.completeCallback(at.idp, {
    callbackUrl,
    redirectUri: options.redirectUri,
    expectedState: options.state,
    expectedNonce: options.nonce,
    codeVerifier: options.codeVerifier,
    now: callback.now ?? new Date(),
    clockSkewSeconds: callback.clockSkewSeconds ?? 60,
    ...(callback.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: callback.maxAgeSeconds }),
  });
}

describe("sign-in through a real oidc-provider", () => {
  beforeAll(() => {
    rp = freshRelyingParty();
  });

  it("returns amr [mfa] verbatim when the user did MFA at the IdP", async () => {
    peer.nextSignIn = { accountId: "alice", amr: ["pwd", "mfa"] };
    const result = await signIn(authorization());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.subject).toBe("alice");
    expect(result.value.issuer).toBe(peer.issuer);
    expect(result.value.amr).toEqual(["pwd", "mfa"]);
    expect(result.value.claims.amr).toEqual(["pwd", "mfa"]);
    expect(result.value.nonce).toMatch(/-nonce$/);
  });

  it("asks for REFEDS MFA as an essential acr and returns the acr the IdP proved", async () => {
    peer.nextSignIn = { accountId: "alice", acr: REFEDS_MFA, amr: ["pwd", "otp"] };
    const options = authorization({ acrValues: [REFEDS_MFA], maxAgeSeconds: 0, forceLogin: true });
    const result = await signIn(options, { maxAgeSeconds: 0 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.acr).toBe(REFEDS_MFA);
    expect(result.value.amr).toEqual(["pwd", "otp"]);
    expect(result.value.authTime).toBeInstanceOf(Date);
    expect(Object.keys(result.value.claims).sort()).toEqual(
      ["acr", "amr", "aud", "auth_time", "exp", "iat", "iss", "sub"].sort(),
    );
    expect(result.value.claims.aud).toBe(peer.idp.clientId);
  });

  it("verifies a password-only sign-in and reports it as such, for the engine to judge", async () => {
    peer.nextSignIn = { accountId: "bob", acr: PASSWORD_PROTECTED, amr: ["pwd"] };
    const result = await signIn(authorization());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.subject).toBe("bob");
    expect(result.value.amr).toEqual(["pwd"]);
    expect(result.value.acr).toBe(PASSWORD_PROTECTED);
  });

  it("refuses an IdP authentication older than max_age (oidc.auth_time_stale)", async () => {
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    peer.nextSignIn = { accountId: "alice", amr: ["mfa"], authTime: hourAgo };
    const result = await signIn(authorization({ maxAgeSeconds: 300 }), { maxAgeSeconds: 300 });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.auth_time_stale" } });
  });

  it("refuses an ID token without auth_time when max_age was expected (oidc.auth_time_missing)", async () => {
    // The IdP behaves as one that drops max_age: it was not sent, so it omits auth_time.
    peer.nextSignIn = { accountId: "alice", amr: ["mfa"] };
    const result = await signIn(authorization(), { maxAgeSeconds: 300 });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.auth_time_missing" } });
  });

  // The peer answers the error only when oidc-provider itself holds the acr essential: sent
  // beside acr_values, the essential request is replaced by a voluntary one and answered with less.
  it("answers an essential acr the IdP cannot meet with oidc.unmet_authentication_requirements", async () => {
    peer.nextSignIn = { accountId: "bob", acr: PASSWORD_PROTECTED, amr: ["pwd"] };
    const result = await signIn(authorization({ acrValues: [REFEDS_MFA] }));
    expect(result).toMatchObject({
      ok: false,
      rejection: {
        code: "oidc.unmet_authentication_requirements",
        error: "unmet_authentication_requirements",
      },
    });
  });

  it("reports the IdP's access_denied as oidc.error_response with the error value", async () => {
    peer.nextSignIn = { error: "access_denied" };
    const result = await signIn(authorization());
    expect(result).toMatchObject({
      ok: false,
      rejection: { code: "oidc.error_response", error: "access_denied" },
    });
  });
});

describe("a real oidc-provider without the claims parameter", () => {
  let plain: OidcProviderPeer;
  beforeAll(async () => {
    plain = await startOidcProviderPeer({ claimsParameter: false });
    rp = freshRelyingParty();
  });
  afterAll(async () => {
    await plain.close();
  });

  it("is asked for the acr by acr_values, a voluntary request: its weaker acr comes back as proved, for the engine to judge", async () => {
    plain.nextSignIn = { accountId: "bob", acr: PASSWORD_PROTECTED, amr: ["pwd"] };
    const options = authorization({ acrValues: [REFEDS_MFA], redirectUri: plain.redirectUri });
    const url = await rp.authorizationUrl(plain.idp, options);
    if (!url.ok) throw new Error(url.rejection.detail);
    const query = new URL(url.value).searchParams;
    expect(query.get("acr_values")).toBe(REFEDS_MFA);
    expect(query.has("claims")).toBe(false);

    const result = await signIn(options, {}, plain);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.acr).toBe(PASSWORD_PROTECTED);
  });
});

describe("signing key rotation at a real oidc-provider", () => {
  it("accepts the new kid after exactly one JWKS refetch, then verifies from the cache", async () => {
    rp = freshRelyingParty();
    peer.nextSignIn = { accountId: "alice", amr: ["mfa"] };
    const before = peer.jwksRequests;
    expect((await signIn(authorization())).ok).toBe(true);
    expect(peer.jwksRequests - before).toBe(1);

    const oldKid = peer.signingKid;
    await peer.rotateSigningKey();
    expect(peer.signingKid).not.toBe(oldKid);
    now += 31_000;
    const rotated = await signIn(authorization());
    expect(rotated.ok).toBe(true);
    expect(peer.jwksRequests - before).toBe(2);

    // The refetched set is cached: the next sign-in under the new key fetches nothing.
    const third = await signIn(authorization());
    expect(third.ok).toBe(true);
    expect(peer.jwksRequests - before).toBe(2);
  });
});
