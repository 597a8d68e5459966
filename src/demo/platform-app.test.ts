/**
 * Threat: the demo platform is the code newcomers copy. A callback that believed any `code` (a
 * forged or replayed redirect, login CSRF), or a token read without verifying it, would teach the
 * very holes tenant-mfa exists to close. These tests drive it (and the SDK under it) over real
 * HTTP against a small stand-in for tenant-mfa's flow API that records what the platform asks and
 * signs real ES256 tokens whose keys it serves as a JWKS, so that each forged or misdirected token
 * can be made on purpose; demo-click-through.browser.test.ts walks the real server in Chromium.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { REFEDS_MFA } from "../core/vocabulary.js";
import { DEMO_PLATFORM_AUDIENCE, startPlatformApp, type PlatformApp } from "./platform-app.js";
import { plainBrowser, type PlainBrowser } from "./test-support/plain-browser.js";

const AUDIENCE = DEMO_PLATFORM_AUDIENCE;
const API_KEY = "tmfa_demo_platform_secret";

interface Recorded {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown>;
}

let stub: { server: Server; url: string; calls: Recorded[]; jwk: JWK; key: CryptoKey };
let otherKey: CryptoKey;
let app: PlatformApp;

/** The token tenant-mfa would issue for `principal` (claims as src/core/assurance-claims.ts). */
async function tokenFor(
  principal: string,
  options: {
    key?: CryptoKey;
    tenant?: string;
    aal?: number;
    phr?: boolean;
    audience?: string;
    authAgeSeconds?: number;
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    tenant: options.tenant ?? "acme",
    acr: REFEDS_MFA,
    amr: ["pwd", "otp", "mfa"],
    auth_time: now - (options.authAgeSeconds ?? 5),
    aal: options.aal ?? 2,
    phr: options.phr ?? false,
    decision: "dec_0001",
    policy_versions: { tenant_policy: 2, mandates: [{ id: "man_uplift", version: 1 }] },
  })
    .setProtectedHeader({ alg: "ES256", typ: "tenant-mfa-assurance+jwt", kid: "k1" })
    .setIssuer(stub.url)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject(principal)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`tok_${String(now)}`)
    .sign(options.key ?? stub.key);
}

let nextToken: () => Promise<string>;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  otherKey = (await generateKeyPair("ES256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const calls: Recorded[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      const text = Buffer.concat(chunks).toString("utf8");
      const path = req.url ?? "/";
      res.setHeader("content-type", "application/json");
      if (req.method === "GET" && path === "/.well-known/jwks.json") {
        res.end(JSON.stringify({ keys: [jwk] }));
        return;
      }
      calls.push({
        path,
        authorization: req.headers.authorization,
        body: JSON.parse(text) as Record<string, unknown>,
      });
      const flow = /^\/v1\/tenants\/([a-z]+)\/flows$/.exec(path);
      if (req.method === "POST" && flow !== null) {
        res.statusCode = 201;
        res.end(
          JSON.stringify({
            flow: "flw_1",
            url: `${stub.url}/t/${flow[1] ?? ""}/flows/flw_1`,
            expires_at: new Date(Date.now() + 600_000).toISOString(),
          }),
        );
        return;
      }
      if (req.method === "POST" && path === "/v1/flows/exchange") {
        res.end(
          JSON.stringify({
            token: await nextToken(),
            token_type: "tenant-mfa-assurance+jwt",
            expires_in: 300,
            tenant: "acme",
            principal: "alice",
            decision: "dec_0001",
          }),
        );
        return;
      }
      res.statusCode = 404;
      res.setHeader("content-type", "application/problem+json");
      res.end(JSON.stringify({ code: "not_found", title: "Not found" }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  stub = { server, url, calls, jwk, key: pair.privateKey };
  app = await startPlatformApp({
    port: 0,
    tenantMfa: { apiUrl: url, publicUrl: url, apiKey: API_KEY },
  });
});

afterAll(async () => {
  await app.close();
  stub.server.closeAllConnections();
  await new Promise<void>((resolve) =>
    stub.server.close(() => {
      resolve();
    }),
  );
});

beforeEach(() => {
  stub.calls.length = 0;
  nextToken = () => tokenFor("alice");
});

/** Opens a page and returns its HTML and the CSRF token its forms carry. */
async function open(browser: PlainBrowser, path: string) {
  const response = await browser.request(`${app.url}${path}`);
  const html = await response.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  return { response, html, csrf };
}

/** Signs alice in up to the redirect to tenant-mfa; returns the state the platform sent. */
async function startAliceSignIn(browser: PlainBrowser): Promise<string> {
  const { csrf } = await open(browser, "/sign-in/alice%40acme");
  const response = await browser.request(`${app.url}/sign-in/alice%40acme`, {
    form: { csrf, password: "demo" },
  });
  expect(response.status).toBe(303);
  expect(response.headers.get("location")).toBe(`${stub.url}/t/acme/flows/flw_1`);
  const state = stub.calls.at(-1)?.body.state;
  expect(typeof state).toBe("string");
  return state as string;
}

/** Alice signs in with her password and tenant-mfa sends her back with a code: the answer. */
async function completeAliceSignIn(browser: PlainBrowser): Promise<Response> {
  const state = await startAliceSignIn(browser);
  return browser.request(`${app.url}/callback?code=c&state=${state}`);
}

describe("the demo platform's pages", () => {
  it("lists the four demo people, each with a sign-in, under a CSP without unsafe-inline", async () => {
    const { response, html } = await open(plainBrowser(), "/");
    expect(response.status).toBe(200);
    for (const handle of ["alice@acme", "bob@globex", "carol@initech", "breakglass@acme"]) {
      expect(html).toContain(`href="/sign-in/${encodeURIComponent(handle)}"`);
    }
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`form-action 'self' ${stub.url}`);
    expect(csp).not.toContain("unsafe-inline");
    expect(response.headers.getSetCookie()[0]).toMatch(
      /^demo_platform_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it("asks a direct user's platform password (prefilled) and an SSO user's none", async () => {
    const browser = plainBrowser();
    const alice = await open(browser, "/sign-in/alice%40acme");
    expect(alice.html).toContain('<label for="password">Password</label>');
    expect(alice.html).toMatch(/id="password" name="password" value="demo"/);
    const carol = await open(browser, "/sign-in/carol%40initech");
    expect(carol.html).not.toContain('name="password"');
    expect(carol.html).toContain("Continue to Initech");
    expect((await open(browser, "/sign-in/mallory%40acme")).response.status).toBe(404);
  });
});

describe("starting a flow", () => {
  it("creates the flow with the password event, its return URL, a fresh state and its audience, then redirects", async () => {
    const before = Date.now();
    await startAliceSignIn(plainBrowser());
    expect(stub.calls).toHaveLength(1);
    const [call] = stub.calls;
    expect(call?.path).toBe("/v1/tenants/acme/flows");
    expect(call?.authorization).toBe(`Bearer ${API_KEY}`);
    expect(call?.body).toEqual({
      principal: { id: "alice" },
      verified: [{ method: "password", source: "platform", at: expect.any(String) }],
      return_to: `${app.url}/callback`,
      state: expect.stringMatching(/^[\w-]{32}$/),
      audience: "demo-platform",
    });
    const at = Date.parse((call?.body.verified as { at: string }[])[0]?.at ?? "");
    expect(at).toBeGreaterThanOrEqual(before - 1000);
  });

  it("sends an SSO user with no platform event at all", async () => {
    const browser = plainBrowser();
    const { csrf } = await open(browser, "/sign-in/carol%40initech");
    const response = await browser.request(`${app.url}/sign-in/carol%40initech`, {
      form: { csrf },
    });
    expect(response.status).toBe(303);
    expect(stub.calls[0]?.path).toBe("/v1/tenants/initech/flows");
    expect(stub.calls[0]?.body).not.toHaveProperty("verified");
  });

  it("refuses a wrong platform password without creating a flow", async () => {
    const browser = plainBrowser();
    const { csrf } = await open(browser, "/sign-in/alice%40acme");
    const response = await browser.request(`${app.url}/sign-in/alice%40acme`, {
      form: { csrf, password: "guess" },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('role="alert"');
    expect(stub.calls).toHaveLength(0);
  });

  it("refuses a form posted from another origin, or from an opaque one (Origin: null), without creating a flow", async () => {
    for (const origin of ["http://evil.localhost:1234", "null"]) {
      const browser = plainBrowser();
      const { csrf } = await open(browser, "/sign-in/alice%40acme");
      const response = await browser.request(`${app.url}/sign-in/alice%40acme`, {
        form: { csrf, password: "demo" },
        headers: { origin },
      });
      expect(response.status).toBe(403);
    }
    expect(stub.calls).toHaveLength(0);
  });

  it("accepts its own origin, which its referrer policy lets Chromium send (no-referrer would send Origin: null)", async () => {
    const browser = plainBrowser();
    const { response, csrf } = await open(browser, "/sign-in/alice%40acme");
    expect(response.headers.get("referrer-policy")).toBe("same-origin");
    const posted = await browser.request(`${app.url}/sign-in/alice%40acme`, {
      form: { csrf, password: "demo" },
      headers: { origin: app.url },
    });
    expect(posted.status).toBe(303);
    expect(stub.calls).toHaveLength(1);
  });

  it("refuses a form without this session's CSRF token (login CSRF) without creating a flow", async () => {
    const browser = plainBrowser();
    await open(browser, "/sign-in/alice%40acme");
    const response = await browser.request(`${app.url}/sign-in/alice%40acme`, {
      form: { csrf: "forged", password: "demo" },
    });
    expect(response.status).toBe(403);
    expect(stub.calls).toHaveLength(0);
  });
});

describe("the callback", () => {
  it("refuses a wrong state and never exchanges its code", async () => {
    const browser = plainBrowser();
    const state = await startAliceSignIn(browser);
    stub.calls.length = 0;
    const response = await browser.request(
      `${app.url}/callback?code=stolen&state=${encodeURIComponent(`${state}x`)}`,
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("its code was not used");
    expect(stub.calls).toHaveLength(0);
  });

  it("refuses an answer in a browser that started no sign-in (another browser's redirect)", async () => {
    const victim = plainBrowser();
    const state = await startAliceSignIn(plainBrowser());
    stub.calls.length = 0;
    const response = await victim.request(`${app.url}/callback?code=c&state=${state}`);
    expect(response.status).toBe(400);
    expect(stub.calls).toHaveLength(0);
  });

  it("exchanges the code, verifies the token and shows its claims; the state is single-use", async () => {
    const browser = plainBrowser();
    const state = await startAliceSignIn(browser);
    const back = await browser.request(`${app.url}/callback?code=c0de&state=${state}`);
    expect(back.status).toBe(303);
    expect(back.headers.get("location")).toBe("/account");
    expect(stub.calls.at(-1)).toMatchObject({
      path: "/v1/flows/exchange",
      authorization: `Bearer ${API_KEY}`,
      body: { code: "c0de" },
    });
    const { html } = await open(browser, "/account");
    expect(html).toContain("Signed in as Alice Ames");
    expect(html).toMatch(/Assurance level \(aal\)<\/th><td>AAL2</);
    expect(html).toMatch(/Phishing-resistant \(phr\)<\/th><td>no</);
    expect(html).toContain("dec_0001");
    expect(html).toContain("tenant policy v2; mandates: man_uplift v1");
    expect(html).toContain(REFEDS_MFA);

    const replay = await browser.request(`${app.url}/callback?code=c0de&state=${state}`);
    expect(replay.status).toBe(400);
  });

  it("signs nobody in when the token does not verify (signed by another key)", async () => {
    nextToken = () => tokenFor("alice", { key: otherKey });
    const browser = plainBrowser();
    const back = await completeAliceSignIn(browser);
    expect(back.status).toBe(502);
    expect(await back.text()).toContain("did not verify");
    const account = await browser.request(`${app.url}/account`);
    expect(account.status).toBe(303);
  });

  it("signs nobody in when the token is for another tenant", async () => {
    nextToken = () => tokenFor("alice", { tenant: "globex" });
    const browser = plainBrowser();
    const back = await completeAliceSignIn(browser);
    expect(back.status).toBe(502);
    expect(await back.text()).toContain("token.wrong_tenant");
  });

  it("signs nobody in when the token is about someone else than the sign-in's person", async () => {
    nextToken = () => tokenFor("breakglass");
    const browser = plainBrowser();
    const back = await completeAliceSignIn(browser);
    expect(back.status).toBe(502);
    expect(await back.text()).toContain("token.wrong_subject");
    expect((await browser.request(`${app.url}/account`)).status).toBe(303);
  });

  it("signs nobody in when the token was issued for another client's audience", async () => {
    nextToken = () => tokenFor("alice", { audience: "key_some_other_client" });
    const browser = plainBrowser();
    const back = await completeAliceSignIn(browser);
    expect(back.status).toBe(502);
    expect(await back.text()).toContain("token.wrong_audience");
    expect((await browser.request(`${app.url}/account`)).status).toBe(303);
  });

  it("shows error=access_denied plainly", async () => {
    const browser = plainBrowser();
    const state = await startAliceSignIn(browser);
    const back = await browser.request(`${app.url}/callback?error=access_denied&state=${state}`);
    expect(back.status).toBe(200);
    const html = await back.text();
    expect(html).toContain("<code>error=access_denied</code>");
    expect(html).toContain("tenant-mfa refused the sign-in");
  });

  it("asks a step-up for the sensitive action and shows the second token", async () => {
    const browser = plainBrowser();
    await completeAliceSignIn(browser);
    const signInEvent = (stub.calls[0]?.body.verified as unknown[])[0];
    const { csrf } = await open(browser, "/account");
    stub.calls.length = 0;

    const sensitive = await browser.request(`${app.url}/sensitive`, { form: { csrf } });
    expect(sensitive.status).toBe(303);
    expect(stub.calls[0]?.body).toEqual({
      principal: { id: "alice" },
      verified: [signInEvent],
      return_to: `${app.url}/callback`,
      state: expect.any(String),
      audience: "demo-platform",
      step_up: { phishingResistant: true, maxAgeSeconds: 300 },
    });
    nextToken = () => tokenFor("alice", { aal: 3, phr: true });
    const stepUpState = stub.calls[0]?.body.state as string;
    await browser.request(`${app.url}/callback?code=c2&state=${stepUpState}`);
    const { html } = await open(browser, "/account");
    expect(html).toContain("Step-up done");
    expect(html).toMatch(/Assurance level \(aal\)<\/th><td>AAL3</);
    expect(html).toMatch(/Phishing-resistant \(phr\)<\/th><td>yes</);
  });

  it("keeps the sensitive action locked when the step-up token is not phishing-resistant", async () => {
    const browser = plainBrowser();
    await completeAliceSignIn(browser);
    const { csrf } = await open(browser, "/account");
    stub.calls.length = 0;
    await browser.request(`${app.url}/sensitive`, { form: { csrf } });
    const stepUpState = stub.calls[0]?.body.state as string;
    nextToken = () => tokenFor("alice", { aal: 2, phr: false });
    const back = await browser.request(`${app.url}/callback?code=c2&state=${stepUpState}`);
    expect(back.status).toBe(403);
    expect(await back.text()).toContain("not phishing-resistant");
    expect((await open(browser, "/account")).html).not.toContain("Step-up done");
  });

  it("keeps the sensitive action locked when the step-up token's authentication is too old", async () => {
    const browser = plainBrowser();
    await completeAliceSignIn(browser);
    const { csrf } = await open(browser, "/account");
    stub.calls.length = 0;
    await browser.request(`${app.url}/sensitive`, { form: { csrf } });
    const stepUpState = stub.calls[0]?.body.state as string;
    nextToken = () => tokenFor("alice", { aal: 3, phr: true, authAgeSeconds: 900 });
    const back = await browser.request(`${app.url}/callback?code=c2&state=${stepUpState}`);
    expect(back.status).toBe(403);
    expect(await back.text()).toMatch(/its authentication is 9\d\d s old, more than 300 s/);
    expect((await open(browser, "/account")).html).not.toContain("Step-up done");
  });

  it("lets the sensitive action through without a step-up when the sign-in's token already meets its needs", async () => {
    nextToken = () => tokenFor("alice", { aal: 3, phr: true });
    const browser = plainBrowser();
    await completeAliceSignIn(browser);
    const { csrf } = await open(browser, "/account");
    stub.calls.length = 0;
    const sensitive = await browser.request(`${app.url}/sensitive`, { form: { csrf } });
    expect(sensitive.status).toBe(303);
    expect(sensitive.headers.get("location")).toBe("/account");
    expect(stub.calls).toHaveLength(0);
    expect((await open(browser, "/account")).html).toContain("the sign-in's token already meets");
  });
});
