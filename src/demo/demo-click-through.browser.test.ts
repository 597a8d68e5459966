/**
 * Threat: a demo whose README walk breaks in a real browser (a form Chromium refuses to send, a
 * CSP that blocks a redirect, an IdP that answers from a stale session, a token the platform
 * cannot verify) teaches newcomers that the integration is fragile, and tempts them to loosen the
 * very checks that make it safe. Here `tenant-mfa serve --demo` runs in-process on free ports
 * (the real server, the development IdP and the demo platform on the SDK) and Debian's Chromium
 * (kept on loopback, ../shared/BROWSER-TESTS.md) clicks through the README's paths: Alice enrols
 * TOTP and signs in again with an `oathtool` code, Bob enrols a passkey (Chromium's virtual
 * authenticator), Carol signs in at her IdP with MFA and without, the break-glass account sees
 * its exemption. Each ends on the platform's page showing the token it verified, whose decision
 * id is then read back as a receipt. Screenshots: test-results/screenshots/demo-walk-*.png.
 *
 * The server runs on the real clock here: a TOTP step is accepted once, so Alice's second
 * sign-in waits for the step after her enrolment's (the other walks run meanwhile).
 */
import { mkdirSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserSuiteSkip, launchChromium } from "../http/test-support/chromium/launch-chromium.js";
import { addVirtualAuthenticator } from "../http/test-support/chromium/virtual-authenticator.js";
import type { RunningServer } from "../main.js";
import { oathtoolCode } from "../verifiers/totp/test-support/oathtool.js";
import { freshDemo, printedSecret, serveDemo } from "./test-support/serve-demo.js";

const SCREENSHOTS = "test-results/screenshots";
const STEP_MS = 30_000;
// A browser on two shared cores: generous limits, which no assertion depends on.
const WALK_MS = 60_000;
const suite = browserSuiteSkip("the demo walked through in Chromium");

/** A tab of its own (a fresh cookie jar: a new browser for tenant-mfa too), with what it reported. */
interface Tab {
  readonly page: Page;
  readonly context: BrowserContext;
  /** CSP refusals and script errors seen on any page of the walk. */
  readonly problems: string[];
}

(suite.skip ? describe.skip : describe)(suite.title, () => {
  let browser: Browser;
  let running: RunningServer | undefined;
  let admin = "";
  let server = "";
  let platform = "";
  /** The TOTP secret Alice enrolled and the step her enrolment used. */
  let alice: { secret: string; step: number } | undefined;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const { ports, args } = await freshDemo("tenant-mfa-walk-");
    const run = await serveDemo(args);
    running = run.running;
    expect(run.stderr).toBe("");
    admin = printedSecret(run.stdout, "demo platform admin");
    server = `http://localhost:${String(ports.server)}`;
    platform = `http://localhost:${String(ports.platform)}`;
    browser = await launchChromium();
  }, WALK_MS);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  async function newTab(): Promise<Tab> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      const text = message.text();
      if (/Content Security Policy|Refused to/i.test(text)) problems.push(text);
    });
    page.on("pageerror", (error) => problems.push(error.message));
    return { page, context, problems };
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: `${SCREENSHOTS}/demo-walk-${name}.png`, fullPage: true });

  /** From the platform's home page to tenant-mfa's flow page (or the IdP) for `principal`. */
  async function signIn(page: Page, principal: string): Promise<void> {
    await page.goto(`${platform}/`);
    await page.getByRole("link", { name: `Sign in as ${principal}` }).click();
    await page.locator("form.card button[type=submit]").click();
    await page.waitForURL((url) => url.origin === server);
  }

  const backOnPlatform = (page: Page) =>
    page.waitForURL((url) => url.origin === platform && url.pathname === "/account");

  /** From tenant-mfa's page to the development IdP's login page, the password typed. */
  async function atDemoIdp(page: Page): Promise<void> {
    await page.getByRole("button", { name: "Continue with Initech corporate IdP (demo)" }).click();
    expect(await page.locator("h1").innerText()).toBe("Sign in to Initech");
    await page.getByLabel("Password").fill("anything");
  }

  /** A claim as the platform's page shows it, from the sign-in's token (the first table). */
  const claim = (page: Page, name: string) =>
    page.locator("table").first().locator(`tr:has(> th:text-is("${name}")) > td`).innerText();

  /** The receipt of the decision the token names, read with the printed admin key. */
  async function receipt(id: string): Promise<{ outcome: string; principal: unknown }> {
    const response = await fetch(`${server}/v1/decisions/${id}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { outcome: string; principal: unknown };
  }

  /** Asserts the platform shows a verified token for `sub` with `aal`; returns its decision id. */
  async function expectToken(page: Page, sub: string, aal: string): Promise<string> {
    expect(await claim(page, "Principal (sub)")).toBe(sub);
    expect(await claim(page, "Assurance level (aal)")).toBe(aal);
    expect(await claim(page, "Issuer (iss) / audience (aud)")).toBe(`${server} / demo-platform`);
    const decision = await claim(page, "Decision (receipt id)");
    expect(decision).toMatch(/^dec_\w+$/);
    expect((await receipt(decision)).outcome).toBe("allow");
    return decision;
  }

  it(
    "alice@acme enrols a TOTP app on her first sign-in and lands signed in at AAL2",
    async () => {
      const { page, context, problems } = await newTab();
      await signIn(page, "alice");
      expect(await page.locator("h1").innerText()).toBe("Verify it’s you");
      await shot(page, "alice-choose");
      await page.getByRole("button", { name: "Set up an authenticator app" }).click();
      const link = page.getByRole("link", { name: /Open in an authenticator app/ });
      const secret = new URL((await link.getAttribute("href")) ?? "").searchParams.get("secret");
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      await shot(page, "alice-enrol-totp");
      const at = new Date();
      await page.getByLabel("Code from the app").fill(oathtoolCode(secret ?? "", at));
      await page.getByRole("button", { name: "Confirm and continue" }).click();
      await backOnPlatform(page);
      alice = { secret: secret ?? "", step: Math.floor(at.getTime() / STEP_MS) };
      expect(await page.locator("h1").innerText()).toBe("Signed in as Alice Ames");
      await expectToken(page, "alice", "AAL2");
      expect(await claim(page, "Methods (amr)")).toContain('"otp"');
      expect(await claim(page, "Phishing-resistant (phr)")).toBe("no");
      await shot(page, "alice-signed-in");
      expect(problems).toEqual([]);
      await context.close();
    },
    WALK_MS,
  );

  it(
    "bob@globex enrols a passkey (phishing-resistant only) and the sensitive action needs no step-up",
    async () => {
      const { page, context, problems } = await newTab();
      await addVirtualAuthenticator(page);
      await signIn(page, "bob");
      // Globex accepts nothing but a passkey or a security key: no code is offered.
      expect(await page.getByRole("button").allInnerTexts()).toEqual(["Set up a passkey"]);
      await page.getByRole("button", { name: "Set up a passkey" }).click();
      await page.getByRole("button", { name: "Create passkey" }).click();
      await backOnPlatform(page);
      await expectToken(page, "bob", "AAL2");
      expect(await claim(page, "Phishing-resistant (phr)")).toBe("yes");
      await page.getByRole("button", { name: "Sensitive action" }).click();
      await backOnPlatform(page);
      expect(await page.locator(".notice.ok").last().innerText()).toContain(
        "the sign-in's token already meets its needs",
      );
      await shot(page, "bob-sensitive-action");
      expect(problems).toEqual([]);
      await context.close();
    },
    WALK_MS,
  );

  it(
    "carol@initech signs in at the development IdP with MFA: allowed, the IdP's proof in the token",
    async () => {
      const { page, context, problems } = await newTab();
      await signIn(page, "carol");
      await atDemoIdp(page);
      await shot(page, "carol-idp");
      await page.getByRole("button", { name: "Sign in with MFA (one-time code)" }).click();
      await backOnPlatform(page);
      await expectToken(page, "carol", "AAL2");
      expect(await claim(page, "Tenant")).toBe("initech");
      await shot(page, "carol-signed-in");
      // The sensitive action needs a phishing-resistant proof: back to the IdP, which is asked to
      // authenticate afresh and shows its login page; a security key there unlocks the action.
      await page.getByRole("button", { name: "Sensitive action" }).click();
      await atDemoIdp(page);
      await page.getByRole("button", { name: "Sign in with a security key" }).click();
      await backOnPlatform(page);
      expect(await page.locator("main").innerText()).toContain("Step-up done");
      await shot(page, "carol-step-up");
      expect(problems).toEqual([]);
      await context.close();
    },
    WALK_MS,
  );

  it(
    "carol@initech with a password only is not let in but guided back to her IdP, where MFA then succeeds",
    async () => {
      const { page, context, problems } = await newTab();
      await signIn(page, "carol");
      await atDemoIdp(page);
      await page.getByRole("button", { name: "Sign in with password only" }).click();
      // Back on tenant-mfa's page, not the platform's: the signed token did not prove MFA.
      await page.waitForURL((url) => url.origin === server && url.pathname.includes("/flows/"));
      expect(await page.locator("h1").innerText()).toBe("Verify it’s you");
      expect(await page.locator("main").innerText()).toContain(
        "Already done in this sign-in: your organisation’s sign-in.",
      );
      await shot(page, "carol-password-only");
      // The IdP is asked again and, its session lacking MFA, shows its login page again.
      await atDemoIdp(page);
      await page.getByRole("button", { name: "Sign in with MFA (one-time code)" }).click();
      await backOnPlatform(page);
      await expectToken(page, "carol", "AAL2");
      expect(problems).toEqual([]);
      await context.close();
    },
    WALK_MS,
  );

  it(
    "breakglass@acme sees the exemption page, then is let through without MFA, the token naming the exemption",
    async () => {
      const { page, context, problems } = await newTab();
      await signIn(page, "breakglass");
      expect(await page.locator("h1").innerText()).toBe("An exemption is in force");
      expect(await page.locator("main").innerText()).toContain("Break-glass (emergency) access");
      await shot(page, "breakglass-exemption");
      await page.getByRole("button", { name: "Continue" }).click();
      await backOnPlatform(page);
      await expectToken(page, "breakglass", "AAL1");
      expect(await claim(page, "Exemption")).toMatch(/^exm_\w+, until \d{4}-/);
      await shot(page, "breakglass-signed-in");
      expect(problems).toEqual([]);
      await context.close();
    },
    WALK_MS,
  );

  it(
    "alice@acme signs in again in another browser with the code of a later step: asked for a code, not an enrolment",
    async () => {
      if (alice === undefined) throw new Error("alice's enrolment did not run");
      const { page, context, problems } = await newTab();
      await signIn(page, "alice");
      expect(await page.getByRole("button").allInnerTexts()).toEqual(["Verify"]);
      await shot(page, "alice-code");
      // Each TOTP step is accepted once: wait for the step after the enrolment's.
      const next = (alice.step + 1) * STEP_MS;
      if (Date.now() < next) await page.waitForTimeout(next - Date.now() + 250);
      await page.getByLabel("Code from the app").fill(oathtoolCode(alice.secret, new Date()));
      await page.getByRole("button", { name: "Verify" }).click();
      await backOnPlatform(page);
      await expectToken(page, "alice", "AAL2");
      await shot(page, "alice-second-sign-in");
      expect(problems).toEqual([]);
      await context.close();
    },
    WALK_MS,
  );
});
