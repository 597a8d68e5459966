/**
 * Threat: the demo's IdP is what newcomers learn federation from. If it claimed MFA it did not
 * "perform", or left `auth_time` out, or ignored `prompt=login`, the demo would teach that an
 * IdP's word can be assumed. These tests run it as a real OIDC peer: discovery, authorization
 * code + PKCE through its own login page with plain HTTP requests, and the ID token read with
 * openid-client (which verifies signature, issuer, audience, nonce and PKCE).
 */
import {
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  ClientSecretBasic,
  discovery,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
  type Configuration,
} from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REFEDS_MFA } from "../core/vocabulary.js";
import { startDemoIdp, type DemoIdp } from "./demo-idp.js";
import { plainBrowser, type PlainBrowser } from "./test-support/plain-browser.js";

const CLIENT_ID = "tenant-mfa-initech";
const CLIENT_SECRET = "demo-secret-with/odd+chars";
// Never visited: the test stops at the redirect to it and hands the URL to openid-client.
const REDIRECT_URI = "http://localhost:8080/t/initech/idps/corp-idp/oidc/callback";

let idp: DemoIdp;
let config: Configuration;

beforeAll(async () => {
  idp = await startDemoIdp({
    port: 0,
    client: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] },
    continuesTo: ["http://localhost:8081/callback"],
  });
  config = await discovery(
    new URL(idp.issuer),
    CLIENT_ID,
    undefined,
    ClientSecretBasic(CLIENT_SECRET),
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http on loopback by design
    { execute: [allowInsecureRequests] },
  );
});
afterAll(async () => {
  await idp.close();
});

interface Attempt {
  readonly browser: PlainBrowser;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly url: string;
}

/**
 * An authorization request as tenant-mfa sends it to an IdP whose discovery says
 * `claims_parameter_supported`: PKCE S256, the acr asked for as an essential claim only.
 */
async function authorize(
  browser: PlainBrowser,
  extra: Record<string, string> = {},
): Promise<Attempt> {
  const verifier = randomPKCECodeVerifier();
  const state = randomState();
  const nonce = randomNonce();
  const url = buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: "openid",
    state,
    nonce,
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    claims: JSON.stringify({ id_token: { acr: { essential: true, values: [REFEDS_MFA] } } }),
    ...extra,
  });
  return { browser, verifier, state, nonce, url: url.href };
}

const atRedirectUri = (location: string) => location.startsWith(REDIRECT_URI);

/** Follows to the login page and returns its HTML and where its form posts. */
async function openLoginPage(attempt: Attempt): Promise<{ html: string; action: string }> {
  const landed = await attempt.browser.follow(attempt.url, { stopAt: atRedirectUri });
  expect(landed.response?.status).toBe(200);
  const html = (await landed.response?.text()) ?? "";
  const action = /<form class="card" method="post" action="([^"]+)"/.exec(html)?.[1];
  expect(action).toBeDefined();
  return { html, action: new URL(action ?? "", landed.url).href };
}

/** Submits the login form and returns the authorization response (the redirect to tenant-mfa). */
async function submitLogin(
  attempt: Attempt,
  form: Record<string, string>,
): Promise<{ callback: URL }> {
  const { action } = await openLoginPage(attempt);
  const done = await attempt.browser.follow(action, { form, stopAt: atRedirectUri });
  return { callback: new URL(done.url) };
}

async function idTokenClaims(attempt: Attempt, callback: URL, maxAge?: number) {
  const tokens = await authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: attempt.verifier,
    expectedState: attempt.state,
    expectedNonce: attempt.nonce,
    ...(maxAge === undefined ? {} : { maxAge }),
  });
  const claims = tokens.claims();
  expect(claims).toBeDefined();
  return claims!;
}

describe("the demo IdP, as a real OIDC peer", () => {
  it("publishes a discovery document for its issuer, with ES256, PKCE S256 and the REFEDS MFA acr", () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(idp.issuer);
    expect(idp.issuer).toMatch(/^http:\/\/localhost:\d+$/);
    expect(metadata.id_token_signing_alg_values_supported).toContain("ES256");
    expect(metadata.code_challenge_methods_supported).toEqual(["S256"]);
    expect(metadata.acr_values_supported).toEqual([REFEDS_MFA]);
  });

  it("signs in with MFA: the ID token says amr pwd+otp+mfa, the REFEDS MFA acr, a real auth_time", async () => {
    const before = Math.floor(Date.now() / 1000);
    const attempt = await authorize(plainBrowser(), { prompt: "login", max_age: "300" });
    const { callback } = await submitLogin(attempt, {
      username: "carol",
      password: "anything",
      method: "mfa",
    });
    expect(callback.searchParams.get("iss")).toBe(idp.issuer);
    const claims = await idTokenClaims(attempt, callback, 300);
    expect(claims.sub).toBe("carol");
    expect(claims.aud).toBe(CLIENT_ID);
    expect(claims.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(claims.acr).toBe(REFEDS_MFA);
    expect(claims.auth_time).toBeGreaterThanOrEqual(before);
    expect(claims.auth_time).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("signs in with a password only: amr pwd and no MFA acr, even though MFA was asked for", async () => {
    const attempt = await authorize(plainBrowser(), { prompt: "login" });
    const { callback } = await submitLogin(attempt, {
      username: "carol",
      password: "x",
      method: "pwd",
    });
    const claims = await idTokenClaims(attempt, callback);
    expect(claims.sub).toBe("carol");
    expect(claims.amr).toEqual(["pwd"]);
    expect(claims.acr).not.toBe(REFEDS_MFA);
    expect(typeof claims.auth_time).toBe("number");
  });

  it("accepts an authorization code once", async () => {
    const attempt = await authorize(plainBrowser());
    const { callback } = await submitLogin(attempt, {
      username: "carol",
      password: "x",
      method: "mfa",
    });
    await idTokenClaims(attempt, callback);
    await expect(idTokenClaims(attempt, callback)).rejects.toMatchObject({
      error: "invalid_grant",
    });
  });

  it("names whoever signed in: the subject is the user name typed, not a hint", async () => {
    const attempt = await authorize(plainBrowser(), { login_hint: "carol" });
    const { callback } = await submitLogin(attempt, {
      username: "dave",
      password: "x",
      method: "mfa",
    });
    expect((await idTokenClaims(attempt, callback)).sub).toBe("dave");
  });

  it("honours prompt=login: a live session is reused without it and asked again with it", async () => {
    const browser = plainBrowser();
    const first = await authorize(browser);
    const signedIn = await submitLogin(first, { username: "carol", password: "x", method: "mfa" });
    const firstClaims = await idTokenClaims(first, signedIn.callback);

    const silent = await authorize(browser);
    const reused = await browser.follow(silent.url, { stopAt: atRedirectUri });
    expect(reused.response).toBeUndefined();
    const reusedClaims = await idTokenClaims(silent, new URL(reused.url));
    expect(reusedClaims.auth_time).toBe(firstClaims.auth_time);
    expect(reusedClaims.amr).toEqual(["pwd", "otp", "mfa"]);

    const forced = await authorize(browser, { prompt: "login" });
    const page = await openLoginPage(forced);
    expect(page.html).toContain("a fresh login (prompt=login)");
  });

  it("asks again when the live session lacks the MFA asked for (REFEDS: step up, never answer with less from the session)", async () => {
    const browser = plainBrowser();
    const first = await authorize(browser);
    const passwordOnly = await submitLogin(first, {
      username: "carol",
      password: "x",
      method: "pwd",
    });
    expect((await idTokenClaims(first, passwordOnly.callback)).amr).toEqual(["pwd"]);

    const again = await authorize(browser);
    const page = await openLoginPage(again);
    expect(page.html).toContain("Sign in to Initech");
    const stepped = await submitLogin(again, { username: "carol", password: "x", method: "mfa" });
    const claims = await idTokenClaims(again, stepped.callback);
    expect(claims.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(claims.acr).toBe(REFEDS_MFA);
  });

  it("answers the re-asked login as submitted: a second password-only sign-in still says amr pwd, with no loop", async () => {
    const browser = plainBrowser();
    const first = await authorize(browser);
    await idTokenClaims(
      first,
      (await submitLogin(first, { username: "carol", password: "x", method: "pwd" })).callback,
    );
    const again = await authorize(browser);
    const { callback } = await submitLogin(again, {
      username: "carol",
      password: "x",
      method: "pwd",
    });
    expect(callback.href.startsWith(REDIRECT_URI)).toBe(true);
    const claims = await idTokenClaims(again, callback);
    expect(claims.amr).toEqual(["pwd"]);
    expect(claims.acr).not.toBe(REFEDS_MFA);
  });

  it("honours max_age=0: the login page is shown again despite a live session", async () => {
    const browser = plainBrowser();
    const first = await authorize(browser);
    await submitLogin(first, { username: "carol", password: "x", method: "mfa" });
    const again = await authorize(browser, { max_age: "0" });
    const page = await openLoginPage(again);
    // OIDC Core §3.1.2.1: max_age=0 means authenticate now; oidc-provider reads it as prompt=login.
    expect(page.html).toContain("a fresh login (prompt=login)");
  });

  it("answers a cancelled sign-in with access_denied", async () => {
    const attempt = await authorize(plainBrowser());
    const { action } = await openLoginPage(attempt);
    const abort = action.replace(/\/login$/, "/abort");
    const done = await attempt.browser.follow(abort, { form: {}, stopAt: atRedirectUri });
    const callback = new URL(done.url);
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("state")).toBe(attempt.state);
  });

  it("shows a plain, labelled login page, prefilled with carol, under a strict CSP whose form-action lists the whole redirect chain", async () => {
    const attempt = await authorize(plainBrowser());
    const landed = await attempt.browser.follow(attempt.url, { stopAt: atRedirectUri });
    const csp = landed.response?.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    // Chrome checks form-action on every redirect after the post: the IdP's own, tenant-mfa's
    // callback, then the application tenant-mfa sends the browser on to.
    expect(csp).toContain("form-action 'self' http://localhost:8080 http://localhost:8081;");
    expect(csp).not.toContain("unsafe-inline");
    const html = (await landed.response?.text()) ?? "";
    expect(html).toContain('<label for="username">User name</label>');
    expect(html).toContain('<label for="password">Password</label>');
    expect(html).toMatch(/id="username" name="username" value="carol"/);
    expect(html).toContain(`authentication context (acr) ${REFEDS_MFA}, as an essential claim`);
    expect(html).toContain("Sign in with MFA (one-time code)");
    expect(html).toContain("Sign in with password only");
    const css = await fetch(`${idp.issuer}/demo-assets/demo.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("re-asks on an unusable form instead of signing anyone in", async () => {
    const attempt = await authorize(plainBrowser());
    const { action } = await openLoginPage(attempt);
    const response = await attempt.browser.request(action, {
      form: { username: "<script>", password: "", method: "mfa" },
    });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('role="alert"');
    expect(html).toContain('value="&lt;script&gt;"');
    expect(html).not.toContain("<script>");
  });

  it("refuses the code exchange with a wrong client secret", async () => {
    const attempt = await authorize(plainBrowser());
    const { callback } = await submitLogin(attempt, {
      username: "carol",
      password: "x",
      method: "mfa",
    });
    const impostor = await discovery(
      new URL(idp.issuer),
      CLIENT_ID,
      undefined,
      ClientSecretBasic("not-the-secret"),
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http on loopback by design
      { execute: [allowInsecureRequests] },
    );
    await expect(
      authorizationCodeGrant(impostor, callback, {
        pkceCodeVerifier: attempt.verifier,
        expectedState: attempt.state,
        expectedNonce: attempt.nonce,
      }),
    ).rejects.toMatchObject({
      status: 401,
      cause: [{ parameters: { error: "invalid_client" } }],
    });
  });
});
