/**
 * Threat: an authorization request that does not ask for what the sign-in needs (no PKCE, no
 * essential acr, a lost max_age=0), so that the IdP's answer can be replayed or under-delivers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { OidcAuthorizationOptions } from "../../app/federation/protocols.js";
import { createOidcProtocol } from "./index.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;

beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(async () => {
  await stub.close();
});

// RFC 7636 Appendix B.
const RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const base: OidcAuthorizationOptions = {
  redirectUri: "https://rp.example/t/acme/idps/corp/oidc/callback",
  state: "flow-1",
  nonce: "nonce-1",
  codeVerifier: RFC7636_VERIFIER,
  acrValues: [],
  forceLogin: false,
};

async function query(options: Partial<OidcAuthorizationOptions>, scopes?: readonly string[]) {
  const rp = createOidcProtocol({ allowHttp: true });
  const idp = scopes === undefined ? stub.idp : { ...stub.idp, scopes };
  const result = await rp.authorizationUrl(idp, { ...base, ...options });
  if (!result.ok) throw new Error(result.rejection.detail);
  const url = new URL(result.value);
  expect(`${url.origin}${url.pathname}`).toBe(`${stub.issuer}/authorize`);
  return Object.fromEntries(url.searchParams);
}

describe("the authorization request", () => {
  afterEach(() => {
    stub.discoveryOverrides = {};
  });

  it("asks for the code flow with PKCE S256, state, nonce and openid", async () => {
    expect(await query({})).toEqual({
      response_type: "code",
      client_id: "client-a",
      redirect_uri: base.redirectUri,
      scope: "openid",
      state: "flow-1",
      nonce: "nonce-1",
      code_challenge: RFC7636_CHALLENGE,
      code_challenge_method: "S256",
    });
  });

  it("always includes openid, once, first", async () => {
    expect((await query({}, ["profile", "openid", "email"])).scope).toBe("openid profile email");
    expect((await query({}, ["profile"])).scope).toBe("openid profile");
  });

  describe("asks for an authentication context in one form, never both", () => {
    const mfa = "https://refeds.org/profile/mfa";
    const vendor = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract";

    // acr_values would turn the essential request into a voluntary one at oidc-provider (its
    // assignClaims), so an IdP unable to do MFA answers with less instead of the error.
    it("as an essential acr claim only, where discovery says claims_parameter_supported", async () => {
      stub.discoveryOverrides = { claims_parameter_supported: true };
      const params = await query({ acrValues: [mfa, vendor] });
      expect(JSON.parse(params.claims ?? "null")).toEqual({
        id_token: { acr: { essential: true, values: [mfa, vendor] } },
      });
      expect(params).not.toHaveProperty("acr_values");
    });

    it.each([
      ["is false", { claims_parameter_supported: false }],
      ["is absent (OIDC Discovery §3: false)", {}],
      ["is not the boolean true", { claims_parameter_supported: "true" }],
    ])("as acr_values only, where claims_parameter_supported %s", async (_, overrides) => {
      stub.discoveryOverrides = overrides;
      const params = await query({ acrValues: [mfa, vendor] });
      expect(params.acr_values).toBe(`${mfa} ${vendor}`);
      expect(params).not.toHaveProperty("claims");
    });

    it("changes nothing else in the request", async () => {
      const options = {
        acrValues: [mfa],
        maxAgeSeconds: 0,
        forceLogin: true,
        loginHint: "a@b.example",
      } as const;
      stub.discoveryOverrides = { claims_parameter_supported: true };
      const { claims: _claims, ...withClaims } = await query(options);
      stub.discoveryOverrides = {};
      const { acr_values: _acrValues, ...withAcrValues } = await query(options);
      expect(withClaims).toEqual(withAcrValues);
      expect(withClaims).toEqual({
        response_type: "code",
        client_id: "client-a",
        redirect_uri: base.redirectUri,
        scope: "openid",
        state: "flow-1",
        nonce: "nonce-1",
        code_challenge: RFC7636_CHALLENGE,
        code_challenge_method: "S256",
        max_age: "0",
        prompt: "login",
        login_hint: "a@b.example",
      });
    });
  });

  it("sends max_age=0, prompt=login and login_hint when asked", async () => {
    const params = await query({ maxAgeSeconds: 0, forceLogin: true, loginHint: "a@b.example" });
    expect(params).toMatchObject({ max_age: "0", prompt: "login", login_hint: "a@b.example" });
  });

  it("sends neither max_age, prompt, login_hint, claims nor acr_values when not asked", async () => {
    stub.discoveryOverrides = { claims_parameter_supported: true };
    const params = await query({});
    for (const name of ["max_age", "prompt", "login_hint", "claims", "acr_values"]) {
      expect(params).not.toHaveProperty(name);
    }
  });

  it("throws on a code verifier that RFC 7636 forbids: a caller's bug", async () => {
    const rp = createOidcProtocol({ allowHttp: true });
    await expect(rp.authorizationUrl(stub.idp, { ...base, codeVerifier: "short" })).rejects.toThrow(
      RangeError,
    );
    await expect(rp.authorizationUrl(stub.idp, { ...base, maxAgeSeconds: -1 })).rejects.toThrow(
      RangeError,
    );
  });
});
