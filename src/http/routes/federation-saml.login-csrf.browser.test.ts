// Threat: login CSRF through a direct SAML sign-in, in a real browser. The SAML answer reaches the
// ACS as a cross-site POST (the IdP's page auto-submits it), which carries no SameSite=Lax cookie;
// the ACS holds the verified answer and redirects to a same-origin completion, and the browser's
// top-level GET there carries the cookie the start set. This proves, in Debian's Chromium, that
// (1) a person's own sign-in completes that way with the cookie exactly as set (HttpOnly,
// SameSite=Lax), the ACS POST arriving without it and the completion with it; (2) mallory's
// answer, auto-posted through the victim's browser from mallory's page, ends on the refusal page
// (federation.browser_mismatch) and decides nothing. The IdP is the repo's real samlify TestIdp
// behind a small HTTP front on 127.0.0.1 (another site than the server's localhost).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../app/records.js";
import { freePort } from "../../demo/test-support/serve-demo.js";
import { REFEDS_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { browserSuiteSkip, launchChromium } from "../test-support/chromium/launch-chromium.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { must, registerSamlTenant } from "../test-support/saml-federation.js";

const suite = browserSuiteSkip("direct SAML sign-in bound to its browser, in Chromium");

/** What the server saw of one request: enough to tell whether the browser cookie came with it. */
interface Seen {
  readonly method: string;
  readonly path: string;
  readonly cookie: string;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => `&#${String(c.charCodeAt(0))};`);

/** A page that posts `fields` to `action` as soon as it loads (as an IdP's answer page does). */
const autoPost = (action: string, fields: Record<string, string>, submit = true) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>IdP</title></head>` +
  `<body${submit ? ' onload="document.forms[0].submit()"' : ""}>` +
  `<form method="post" action="${escapeHtml(action)}">` +
  Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
    .join("") +
  `<button type="submit">Continue</button></form></body></html>`;

(suite.skip ? describe.skip : describe)(suite.title, { timeout: 30_000 }, () => {
  let t: TestServer;
  let origin = "";
  let idpServer: Server;
  let platform: Server;
  let platformUrl = "";
  let browser: Browser;
  let auditor = "";
  const contexts: BrowserContext[] = [];
  const seen: Seen[] = [];
  /** Who the IdP signs in next, and whether its answer page submits itself (else it waits). */
  const at = { user: "alice@example.org", submit: true };
  /** What the IdP's page for the latest sign-in holds. */
  let lastAnswer: Record<string, string> = {};
  /** What mallory's page posts: the answer he kept. */
  let kept: Record<string, string> = {};

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://localhost:${String(port)}`;
    const acs = `${origin}/t/acme/idps/corp/saml/acs`;
    const sp = { entityId: `${origin}/t/acme/idps/corp/saml/metadata`, acsUrl: acs };

    // The IdP: its SSO URL answers the AuthnRequest with a signed response in an auto-posting
    // page, and /evil is mallory's page, which auto-posts the answer he kept.
    const idpPort = await freePort();
    const idp = new TestIdp({ entityId: `http://127.0.0.1:${String(idpPort)}/saml` });
    idpServer = createServer((request, response) => {
      void (async () => {
        const url = new URL(request.url ?? "/", `http://127.0.0.1:${String(idpPort)}`);
        response.setHeader("content-type", "text/html; charset=utf-8");
        if (url.pathname === "/evil") {
          response.end(autoPost(acs, kept));
          return;
        }
        if (url.pathname !== "/saml/sso") {
          response.statusCode = 404;
          response.end();
          return;
        }
        const metadata = (await t.call("GET", "/t/acme/idps/corp/saml/metadata")).body;
        const authnRequest = await idp.receiveAuthnRequest(metadata, url.href);
        const samlResponse = await idp.login(sp, metadata, authnRequest.id, {
          issuedAt: t.clock.now(),
          nameId: at.user,
          authnContextClassRef: REFEDS_MFA,
        });
        lastAnswer = { SAMLResponse: samlResponse, RelayState: authnRequest.relayState ?? "" };
        response.end(autoPost(acs, lastAnswer, at.submit));
      })().catch((error: unknown) => {
        response.statusCode = 500;
        response.end(String(error));
      });
    });
    await new Promise<void>((resolve) => idpServer.listen(idpPort, "127.0.0.1", resolve));

    // The platform's return URL: a page that shows nothing of what it was sent.
    platform = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(
        '<!doctype html><html lang="en"><head><title>Platform</title></head><body>back</body></html>',
      );
    });
    await new Promise<void>((resolve) => platform.listen(0, "127.0.0.1", resolve));
    platformUrl = `http://localhost:${String((platform.address() as AddressInfo).port)}/signed-in`;

    t = await openTestServer({ bodyLimitBytes: 256 * 1024, federation: { publicUrl: origin } });
    t.server.addHook("onRequest", (request, _reply, done) => {
      // The browser's requests only, not the test's own injected ones.
      if ((request.headers["user-agent"] ?? "").includes("Chrome")) {
        seen.push({
          method: request.method,
          path: request.url.split("?")[0] ?? "",
          cookie: request.headers.cookie ?? "",
        });
      }
      done();
    });
    await t.server.listen({ host: "127.0.0.1", port });
    await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [platformUrl] });
    auditor = await t.key(["tenant_auditor"], ["acme"]);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await t?.close();
    for (const server of [idpServer, platform]) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  });

  async function freshBrowser() {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return { context, page };
  }

  const startUrl = () =>
    `${origin}/t/acme/idps/corp/start?return_to=${encodeURIComponent(platformUrl)}`;

  async function audit(type: string): Promise<AuditEvent[]> {
    const response = await t.call("GET", `/v1/tenants/acme/audit?type=${type}&limit=500`, {
      key: auditor,
    });
    return must(response, 200).json<{ items: AuditEvent[] }>().items;
  }

  it("completes a person's own sign-in through the IdP's cross-site POST and the redirect, with the cookie as set", async () => {
    at.user = "alice@example.org";
    at.submit = true;
    const { context, page } = await freshBrowser();
    const before = seen.length;
    await page.goto(startUrl());
    await page.waitForURL((url) => url.href.startsWith(`${platformUrl}?decision=`));
    const decision = new URL(page.url()).searchParams.get("decision") ?? "";
    const receipt = must(await t.call("GET", `/v1/decisions/${decision}`, { key: auditor }), 200);
    expect(receipt.json()).toMatchObject({ principal: "alice@example.org", outcome: "allow" });

    // The cookie as the start set it, and as the browser keeps it.
    const [cookie, ...others] = await context.cookies(origin);
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: "tmfa_browser", httpOnly: true, sameSite: "Lax" });
    // The IdP's POST came without it (cross-site, Lax); the completion's GET with it.
    const requests = seen.slice(before).filter((r) => r.path.startsWith("/t/acme/idps/corp/"));
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /t/acme/idps/corp/start",
      "POST /t/acme/idps/corp/saml/acs",
      "GET /t/acme/idps/corp/saml/complete",
    ]);
    const sent = requests.map((r) => r.cookie.includes(`tmfa_browser=${cookie?.value ?? "?"}`));
    expect(sent).toEqual([false, false, true]);
  });

  it("shows the victim the refusal page for mallory's answer auto-posted from mallory's page, deciding nothing", async () => {
    // Mallory signs in at the IdP in his own browser and stops at its answer page.
    at.user = "mallory@example.org";
    at.submit = false;
    const mallory = await freshBrowser();
    await mallory.page.goto(startUrl());
    await mallory.page.waitForURL((url) => url.port !== new URL(origin).port);
    kept = { ...lastAnswer };
    expect(kept["SAMLResponse"]).toBeDefined();

    // The victim, signed in to the platform earlier in her own browser, opens mallory's page.
    at.user = "alice@example.org";
    at.submit = true;
    const victim = await freshBrowser();
    await victim.page.goto(startUrl());
    await victim.page.waitForURL((url) => url.href.startsWith(`${platformUrl}?decision=`));
    const decided = (await audit("decision.recorded")).length;
    const refused = (await audit("federation.rejected")).length;
    await victim.page.goto(
      `http://127.0.0.1:${String((idpServer.address() as AddressInfo).port)}/evil`,
    );
    await victim.page.waitForURL((url) => url.pathname.endsWith("/saml/complete"));
    await victim.page.locator("code").waitFor();
    expect(await victim.page.locator("code").innerText()).toBe("federation.browser_mismatch");
    expect(await victim.page.locator("h1").innerText()).toBe("Sign-in could not be completed");
    expect(victim.page.url()).not.toContain("decision=");

    expect(await audit("decision.recorded")).toHaveLength(decided);
    const [event, ...more] = (await audit("federation.rejected")).slice(refused);
    expect(more).toEqual([]);
    expect(event?.payload).toMatchObject({
      reason: "federation.browser_mismatch",
      protocol: "saml",
    });
  });
});
