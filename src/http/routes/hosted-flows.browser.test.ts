// Every path of a hosted flow, end to end in Debian's Chromium: the platform's backend creates
// the flow through the API, the browser walks the real pages (TOTP codes from `oathtool`,
// passkeys from Chrome's virtual authenticator, sign-ins at a real `oidc-provider`), lands on the
// platform's return URL, and the platform exchanges the code and verifies the token with `jose`
// and the published JWKS. Each main page passes an axe check (WCAG 2.1 A and AA) and raises no
// Content-Security-Policy violation; screenshots are saved under test-results/screenshots.
// Threats: a flow completed without the evidence its tenant requires, a code replayed, a flow
// used after it expired or from another browser, a return URL the tenant never registered.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { mkdirSync } from "node:fs";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import {
  REFEDS_MFA,
  type PeerSignIn,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { openFlowWorld, type FlowWorld } from "../test-support/chromium/flow-world.js";
import { browserSuiteSkip } from "../test-support/chromium/launch-chromium.js";
import { addVirtualAuthenticator } from "../test-support/chromium/virtual-authenticator.js";

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);
const SCREENSHOTS = "test-results/screenshots";
const suite = browserSuiteSkip("hosted flows in Chromium");

(suite.skip ? describe.skip : describe)(suite.title, { timeout: 30_000 }, () => {
  let w: FlowWorld;
  let people = 0;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    w = await openFlowWorld();
  }, 60_000);
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await w?.close();
  });

  /** A fresh browser (its own cookies), whose CSP violations are collected. */
  async function freshBrowser(): Promise<{ page: Page; violations: string[] }> {
    const context = await w.browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text()))
        violations.push(message.text());
    });
    return { page, violations };
  }

  /** The text of an element once it is visible (the waits are Playwright's, the checks vitest's). */
  async function visibleText(locator: ReturnType<Page["locator"]>): Promise<string> {
    await locator.waitFor();
    return locator.innerText();
  }

  const someone = (prefix: string) => `${prefix}-${String(++people)}`;

  /** Checks the page with axe and keeps a screenshot of it. */
  async function inspect(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: `${SCREENSHOTS}/flow-${name}.png`, fullPage: true });
    // Evaluated through DevTools, not injected as a script: the page's CSP stays as it is.
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const axe = (
        globalThis as unknown as {
          axe: {
            run(
              context: unknown,
              options: unknown,
            ): Promise<{ violations: { id: string; help: string; nodes: unknown[] }[] }>;
          };
        }
      ).axe;
      const result = await axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      });
      return result.violations.map((v) => `${v.id}: ${v.help} (${String(v.nodes.length)})`);
    });
    expect(violations, name).toEqual([]);
  }

  /** Where the browser landed on the platform: the code, after checking the state. */
  async function landedCode(page: Page, principal: string): Promise<string> {
    await page.waitForURL((url) => url.href.startsWith(w.returnUrl));
    const url = new URL(page.url());
    expect(url.searchParams.get("state")).toBe(`state-${principal}`);
    const code = url.searchParams.get("code");
    expect(code, `landed without a code: ${page.url()}`).toBeTruthy();
    return code ?? "";
  }

  async function tokenFor(page: Page, principal: string) {
    const exchanged = await w.exchange(await landedCode(page, principal));
    expect(exchanged.status, exchanged.body).toBe(200);
    expect(exchanged.payload?.sub).toBe(principal);
    return exchanged.payload ?? {};
  }

  it("enrols TOTP with a code from oathtool, then signs in with the app in another browser", async () => {
    const alice = someone("alice");
    const first = await freshBrowser();
    await first.page.goto((await w.createFlow("acme", alice)).url);
    expect(await visibleText(first.page.getByRole("heading", { level: 1 }))).toMatch(/Verify it/);
    await inspect(first.page, "challenge-enrol");
    await first.page.getByRole("button", { name: "Set up an authenticator app" }).click();
    await first.page.getByRole("heading", { name: "Set up your authenticator app" }).waitFor();
    await inspect(first.page, "enroll-totp");
    const secret = (
      await first.page.locator("code[aria-labelledby=totp-secret-label]").innerText()
    ).replace(/\s/g, "");
    await first.page.getByLabel("Code from the app").fill(oathtoolCode(secret, w.t.clock.now()));
    await first.page.getByRole("button", { name: "Confirm and continue" }).click();
    expect(await tokenFor(first.page, alice)).toMatchObject({
      tenant: "acme",
      aal: 2,
      amr: ["mfa", "otp", "pwd"],
    });
    expect(first.violations).toEqual([]);

    w.t.clock.advance(30);
    const second = await freshBrowser();
    await second.page.goto((await w.createFlow("acme", alice)).url);
    await inspect(second.page, "challenge-verify-totp");
    await second.page.getByLabel("Code from the app").fill("000000");
    await second.page.getByRole("button", { name: "Verify" }).click();
    await second.page.getByRole("alert").waitFor();
    await inspect(second.page, "challenge-wrong-code");
    await second.page.getByLabel("Code from the app").fill(oathtoolCode(secret, w.t.clock.now()));
    await second.page.getByRole("button", { name: "Verify" }).click();
    expect((await tokenFor(second.page, alice))["aal"]).toBe(2);
    expect(second.violations).toEqual([]);
  });

  it("enrols a passkey with the virtual authenticator, then a step-up verifies it", async () => {
    const bob = someone("bob");
    const { page, violations } = await freshBrowser();
    await addVirtualAuthenticator(page);
    await page.goto((await w.createFlow("globex", bob)).url);
    await page.getByRole("button", { name: /Set up a passkey|Register a security key/ }).click();
    await inspect(page, "enroll-webauthn");
    await page.getByRole("button", { name: /Create passkey|Register security key/ }).click();
    expect(await tokenFor(page, bob)).toMatchObject({
      tenant: "globex",
      // AAL2: no attestation proved the key hardware (attestation `none`, the default).
      aal: 2,
      phr: true,
      // The passkey with user verification is multi-factor on its own: the password is not needed.
      // `pop`, not `hwk`: nothing says where the key is kept.
      amr: ["mfa", "pop"],
    });

    // A sensitive action wants a verification of at most a second ago: only that is asked.
    w.t.clock.advance(5);
    await page.goto((await w.createFlow("globex", bob, { stepUp: { maxAgeSeconds: 1 } })).url);
    await page.getByText("This action needs a stronger or more recent verification.").waitFor();
    await inspect(page, "step-up-passkey");
    await page.getByRole("button", { name: "Use a passkey or security key" }).click();
    expect((await tokenFor(page, bob))["phr"]).toBe(true);
    expect(violations).toEqual([]);
  });

  it("asks for a security key where a step-up needs AAL3, and its verified attestation earns AAL3", async () => {
    const dana = someone("dana");
    const { page, violations } = await freshBrowser();
    await addVirtualAuthenticator(page, { transport: "usb" });
    await page.goto((await w.createFlow("globex", dana, { stepUp: { minAal: 3 } })).url);
    await page.getByRole("button", { name: "Register a security key" }).click();
    await inspect(page, "enroll-security-key");
    await page.getByRole("button", { name: "Register security key" }).click();
    expect(await tokenFor(page, dana)).toMatchObject({
      tenant: "globex",
      aal: 3,
      phr: true,
      amr: ["hwk", "mfa"],
    });
    expect(violations).toEqual([]);
  });

  /** Back on the flow's page from the IdP, whatever notice it came back with. */
  async function backAtFlow(page: Page, flow: string): Promise<URL> {
    await page.waitForURL((url) => url.pathname === `/t/initech/flows/${flow}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    return new URL(page.url());
  }

  /** Carol's flow: the page sends her to the IdP, which signs her in as `signIn` says. */
  async function atIdp(page: Page, signIn: PeerSignIn): Promise<void> {
    w.peer.nextSignIn = signIn;
    await page.getByRole("button", { name: "Continue with Initech Sign-On" }).click();
  }

  it("completes at the tenant's IdP with MFA", async () => {
    const carol = someone("carol");
    const { page, violations } = await freshBrowser();
    await page.goto((await w.createFlow("initech", carol, { password: false })).url);
    await inspect(page, "challenge-idp");
    await atIdp(page, { accountId: carol, acr: REFEDS_MFA, amr: ["pwd", "mfa"] });
    expect(await tokenFor(page, carol)).toMatchObject({
      tenant: "initech",
      aal: 2,
      acr: REFEDS_MFA,
    });
    expect(violations).toEqual([]);
  });

  it("guides a sign-in without MFA at the IdP back to step up, then allows", async () => {
    const carol = someone("carol");
    const { page } = await freshBrowser();
    const { flow, url } = await w.createFlow("initech", carol, { password: false });
    await page.goto(url);
    await atIdp(page, { accountId: carol, amr: ["pwd"] });
    await backAtFlow(page, flow);
    expect(await visibleText(page.getByRole("alert"))).toMatch(/did not prove enough/);
    await inspect(page, "idp-insufficient");
    await page.getByRole("button", { name: "Continue with Initech Sign-On" }).waitFor();
    await atIdp(page, { accountId: carol, acr: REFEDS_MFA, amr: ["pwd", "mfa"] });
    expect((await tokenFor(page, carol))["aal"]).toBe(2);
  });

  it("asks for a fresh sign-in at the IdP when the one it reports is too old", async () => {
    const carol = someone("carol");
    const { page } = await freshBrowser();
    const { flow, url } = await w.createFlow("initech", carol, { password: false });
    await page.goto(url);
    const stale = Math.floor(w.t.clock.now().getTime() / 1000) - 3600;
    await atIdp(page, { accountId: carol, acr: REFEDS_MFA, amr: ["pwd", "mfa"], authTime: stale });
    expect((await backAtFlow(page, flow)).searchParams.get("notice")).toBe("idp.rejected");
    await page.getByRole("alert").waitFor();
    await inspect(page, "idp-refused");
    await atIdp(page, { accountId: carol, acr: REFEDS_MFA, amr: ["pwd", "mfa"] });
    const payload = await tokenFor(page, carol);
    expect(Number(payload["auth_time"])).toBeGreaterThan(stale + 3000);
  });

  it("tells an exempted break-glass user so, and lets them through with the exemption in the token", async () => {
    const breakglass = someone("breakglass");
    await w.t.call("PUT", `/v1/tenants/acme/principals/${breakglass}`, {
      key: w.t.adminKey,
      body: { population: "direct" },
    });
    const later = (days: number) =>
      new Date(w.t.clock.now().getTime() + days * 86_400_000).toISOString();
    const requested = await w.t.call("POST", "/v1/tenants/acme/exemptions", {
      key: w.t.adminKey,
      body: {
        principal: breakglass,
        category: "break_glass",
        justification: "Incident response account",
        owner: "secops",
        startsAt: w.t.clock.now().toISOString(),
        expiresAt: later(2),
        reviewAt: later(1),
      },
    });
    const { id } = requested.json<{ id: string }>();
    const approver = await w.t.key(["exemption_approver"], ["acme"]);
    expect(
      (await w.t.call("POST", `/v1/tenants/acme/exemptions/${id}/approve`, { key: approver }))
        .statusCode,
    ).toBe(200);
    const { page, violations } = await freshBrowser();
    await page.goto((await w.createFlow("acme", breakglass)).url);
    expect(await visibleText(page.getByRole("heading", { level: 1 }))).toBe(
      "An exemption is in force",
    );
    await inspect(page, "exemption");
    await page.getByRole("button", { name: "Continue" }).click();
    expect((await tokenFor(page, breakglass))["exemption"]).toMatchObject({ id });
    expect(violations).toEqual([]);
  });

  it("nudges in report-only mode and lets the user continue", async () => {
    const user = someone("user");
    const { page, violations } = await freshBrowser();
    await page.goto((await w.createFlow("umbrella", user)).url);
    expect(await visibleText(page.getByRole("heading", { level: 1 }))).toMatch(
      "Multi-factor authentication is coming",
    );
    await inspect(page, "report-only");
    await page.getByRole("button", { name: "Continue without setting up" }).click();
    expect(await tokenFor(page, user)).toMatchObject({ tenant: "umbrella", aal: 1 });
    expect(violations).toEqual([]);
  });

  // Threat: the opening secret left in the address bar, the history and the Referer of the
  // page's own requests once it bound the flow, where anyone who sees the screen, the history or
  // a same-origin request's headers reads it.
  it("takes the opening secret out of the address bar, the history and the page's Referer once it opened the flow", async () => {
    const user = someone("user");
    const { url, flow } = await w.createFlow("umbrella", user);
    const { page } = await freshBrowser();
    const referers: string[] = [];
    page.on("request", (request) => {
      const referer = request.headers()["referer"];
      if (referer !== undefined) referers.push(referer);
    });
    const response = await page.goto(`${url}&lang=en`);
    expect(response?.status()).toBe(200);
    expect(await visibleText(page.getByRole("heading", { level: 1 }))).toMatch(
      "Multi-factor authentication is coming",
    );
    // The redirect's target, with the other parameter kept, is the page the browser shows.
    expect(page.url()).toBe(`${w.origin}/t/umbrella/flows/${flow}?lang=en`);
    expect(await page.evaluate(() => document.location.href)).not.toContain("open=");
    // Going back leaves the page for the blank tab it came from: the secret's URL is no entry.
    await page.goBack();
    expect(page.url()).toBe("about:blank");
    await page.goForward();
    expect(page.url()).toBe(`${w.origin}/t/umbrella/flows/${flow}?lang=en`);
    // The page's own requests (its stylesheet, its script, the form it posts) name no secret.
    await page.getByRole("button", { name: "Continue without setting up" }).click();
    await landedCode(page, user);
    expect(referers.length).toBeGreaterThan(0);
    for (const referer of referers) expect(referer).not.toContain("open=");
  });

  it("refuses an expired flow, a flow opened in another browser, and a replayed code", async () => {
    const alice = someone("alice");
    const expired = await w.createFlow("acme", alice);
    w.t.clock.advance(601);
    const late = await freshBrowser();
    const response = await late.page.goto(expired.url);
    expect(response?.status()).toBe(410);
    expect(await visibleText(late.page.getByRole("heading", { level: 1 }))).toMatch(
      "This sign-in has expired",
    );
    await inspect(late.page, "failed-expired");

    const { url } = await w.createFlow("umbrella", alice);
    const mine = await freshBrowser();
    await mine.page.goto(url);
    const theirs = await freshBrowser();
    expect((await theirs.page.goto(url))?.status()).toBe(403);
    await theirs.page.getByText("This sign-in was started in another browser").waitFor();
    await inspect(theirs.page, "failed-other-browser");

    await mine.page.getByRole("button", { name: "Continue without setting up" }).click();
    const code = await landedCode(mine.page, alice);
    expect((await w.exchange(code)).status).toBe(200);
    const replayed = await w.exchange(code);
    expect(replayed.status).toBe(400);
    expect(JSON.parse(replayed.body)).toMatchObject({ code: "flow.code_invalid" });
  });

  it("refuses to create a flow that would return to an unregistered URL", async () => {
    await expect(
      w.createFlow("acme", someone("alice"), { returnTo: "http://localhost:1/elsewhere" }),
    ).rejects.toMatchObject({ status: 400, body: { code: "flow.return_to_not_allowed" } });
  });
});
