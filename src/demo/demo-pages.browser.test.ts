/**
 * Threat: a demo page that a real browser blocks (its own CSP refusing its stylesheet, or
 * `form-action` refusing the redirect that follows the IdP's login form, which Chrome enforces)
 * would break the click-through in front of a newcomer, and tempt someone to loosen the policy.
 * Here Debian's Chromium (kept on loopback, ../shared/BROWSER-TESTS.md) opens the demo
 * platform's pages and the development IdP's login page, submits that form through every
 * redirect, and records any CSP violation; screenshots go to test-results/screenshots/demo-*.png.
 */
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserSuiteSkip, launchChromium } from "../http/test-support/chromium/launch-chromium.js";
import { startDemoIdp, type DemoIdp } from "./demo-idp.js";
import { startPlatformApp, type PlatformApp } from "./platform-app.js";

const SCREENSHOTS = "test-results/screenshots";
// A browser on two shared cores: generous limits, which no assertion depends on.
const BROWSER_MS = 60_000;
const suite = browserSuiteSkip("the demo's pages in Chromium");

(suite.skip ? describe.skip : describe)(suite.title, () => {
  let browser: Browser;
  let catcher: { server: Server; origin: string };
  let idp: DemoIdp;
  let platform: PlatformApp;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // Stands in for tenant-mfa's OIDC callback, on another origin, as in the demo.
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end("callback reached");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://localhost:${String((server.address() as AddressInfo).port)}`;
    catcher = { server, origin };
    idp = await startDemoIdp({
      port: 0,
      client: {
        clientId: "tenant-mfa-initech",
        clientSecret: "s3cret",
        redirectUris: [`${origin}/t/initech/idps/corp-idp/oidc/callback`],
      },
    });
    platform = await startPlatformApp({
      port: 0,
      tenantMfa: {
        apiUrl: origin,
        publicUrl: origin,
        apiKey: "tmfa_unused",
      },
    });
    browser = await launchChromium();
  }, BROWSER_MS);

  afterAll(async () => {
    await browser?.close();
    await platform?.close();
    await idp?.close();
    catcher.server.closeAllConnections();
    await new Promise<void>((resolve) => {
      catcher.server.close(() => {
        resolve();
      });
    });
  });

  /** A page that records CSP violations reported on the console. */
  async function openPage(): Promise<{ page: Page; violations: string[] }> {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    return { page, violations };
  }

  it(
    "renders the platform's home and sign-in pages with their stylesheet and no CSP violation",
    async () => {
      const { page, violations } = await openPage();
      await page.goto(`${platform.url}/`);
      expect(await page.locator("h1").textContent()).toBe("Who signs in?");
      expect(await page.locator(".people li").count()).toBe(4);
      // The stylesheet applied: the list items are laid out as flex rows.
      expect(
        await page
          .locator(".people li")
          .first()
          .evaluate((li) => getComputedStyle(li).display),
      ).toBe("flex");
      await page.screenshot({ path: `${SCREENSHOTS}/demo-platform-home.png`, fullPage: true });

      await page.getByRole("link", { name: "Sign in as alice" }).click();
      expect(await page.getByLabel("Password").inputValue()).toBe("demo");
      await page.screenshot({ path: `${SCREENSHOTS}/demo-platform-sign-in.png`, fullPage: true });
      expect(violations).toEqual([]);
      await page.close();
    },
    BROWSER_MS,
  );

  it(
    "shows the IdP's login page and follows its form through every redirect to the callback",
    async () => {
      const { page, violations } = await openPage();
      const authorize = new URL(`${idp.issuer}/auth`);
      for (const [name, value] of Object.entries({
        client_id: "tenant-mfa-initech",
        response_type: "code",
        redirect_uri: `${catcher.origin}/t/initech/idps/corp-idp/oidc/callback`,
        scope: "openid",
        state: "state-1",
        nonce: "nonce-1",
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method: "S256",
        prompt: "login",
      })) {
        authorize.searchParams.set(name, value);
      }
      await page.goto(authorize.href);
      expect(await page.locator("h1").textContent()).toBe("Sign in to Initech");
      expect(await page.getByLabel("User name").inputValue()).toBe("carol");
      await page.getByLabel("Password").fill("anything");
      await page.screenshot({ path: `${SCREENSHOTS}/demo-idp-login.png`, fullPage: true });

      await page.getByRole("button", { name: "Sign in with MFA (one-time code)" }).click();
      await page.waitForURL((url) => url.origin === catcher.origin);
      const landed = new URL(page.url());
      expect(landed.pathname).toBe("/t/initech/idps/corp-idp/oidc/callback");
      expect(landed.searchParams.get("state")).toBe("state-1");
      expect(landed.searchParams.get("code")).toBeTruthy();
      expect(violations).toEqual([]);
      await page.close();
    },
    BROWSER_MS,
  );
});
