/**
 * Threat: a hosted page that the browser renders differently from what the unit tests read: its
 * own stylesheet or script blocked by its CSP (a page that silently loses its WebAuthn button),
 * an inline something that only a real CSP engine notices, a field without an accessible name,
 * text too faint to read, no visible focus, a page that needs JavaScript for what works without
 * it. Every screen kind is served by the real routes and opened in Debian's Chromium
 * (Playwright), with a listener for CSP violations; screenshots go to
 * test-results/screenshots/pages-*.png. The application's `flows` is a hand-written fake that
 * returns fixed screens (the real use cases are written in parallel): these tests pin the pages
 * and their script, not the flow logic.
 */
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Application, FlowAction } from "../../app/application.js";
import { AppError } from "../../app/errors.js";
import type { FlowScreen } from "../../app/flows/flow-screens.js";
import { addCatalogue } from "../../pages/messages/index.js";
import type { PageScreen } from "../../pages/render-flow-screen.js";
import { FRAME, sampleScreens } from "../../pages/test-support/sample-screens.js";
import { buildServer } from "../build-server.js";
import { browserSuiteSkip, launchChromium } from "../test-support/chromium/launch-chromium.js";
import { addVirtualAuthenticator } from "../test-support/chromium/virtual-authenticator.js";

const SCREENSHOTS = "test-results/screenshots";
const suite = browserSuiteSkip("hosted flow pages in Chromium");

/** What a page reported while it was open. */
interface PageReport {
  readonly violations: string[];
  readonly errors: string[];
}

// A page takes a few seconds on a busy machine: each test opens one or more in a new context.
(suite.skip ? describe.skip : describe)(suite.title, { timeout: 60_000 }, () => {
  let browser: Browser;
  let server: FastifyInstance;
  let origin = "";
  let screens: Record<string, PageScreen> = {};
  const actions: { flow: string; action: FlowAction }[] = [];
  /** What the options endpoint answers next, per flow; a rejection by default. */
  const ceremonyOptions = new Map<string, unknown>();
  /** Where a flow's posted form leads, when not back to the flow's page. */
  const redirects = new Map<string, string>();

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // Each sample is its own flow, so that its forms post back to the page they came from.
    screens = Object.fromEntries(
      Object.entries(await sampleScreens()).map(([name, screen]) => [
        name,
        "frame" in screen ? { ...screen, frame: { ...screen.frame, flow: name } } : screen,
      ]),
    );
    const flows: Partial<Application["flows"]> = {
      show: (_tenant, flow) =>
        Promise.resolve(
          (screens[flow] as FlowScreen | undefined) ?? { kind: "failed", code: "flow.not_found" },
        ),
      act: (_tenant, flow, _browser, action) => {
        actions.push({ flow, action });
        return Promise.resolve({
          kind: "redirect",
          location: redirects.get(flow) ?? `/t/acme/flows/${flow}`,
        });
      },
      webauthnOptions: (_tenant, flow) => {
        const options = ceremonyOptions.get(flow);
        if (options === undefined) return Promise.reject(new AppError("webauthn.no_credentials"));
        return Promise.resolve({ ceremony: `cer_${flow}`, options: options as never });
      },
    };
    const app = { flows } as unknown as Application;
    // The public URL is only known once listening: a first server finds a free port.
    const probe = buildServer({
      app,
      config: { bodyLimitBytes: 65536 },
      logger: pino({ level: "silent" }),
    });
    await probe.listen({ port: 0, host: "127.0.0.1" });
    const { port } = probe.server.address() as AddressInfo;
    await probe.close();
    origin = `http://localhost:${String(port)}`;
    server = buildServer({
      app,
      config: { bodyLimitBytes: 65536, publicUrl: origin },
      logger: pino({ level: "silent" }),
    });
    await server.listen({ port, host: "127.0.0.1" });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Opens a flow page in a fresh context, recording CSP violations and script errors. */
  async function open(
    flow: string,
    options: { javaScriptEnabled?: boolean; width?: number; locale?: string } = {},
  ): Promise<{ page: Page; context: BrowserContext; report: PageReport }> {
    const context = await browser.newContext({
      javaScriptEnabled: options.javaScriptEnabled ?? true,
      viewport: { width: options.width ?? 900, height: 900 },
      ...(options.locale === undefined ? {} : { locale: options.locale }),
    });
    const page = await context.newPage();
    const report: PageReport = { violations: [], errors: [] };
    page.on("console", (message) => {
      const text = message.text();
      if (/Content Security Policy|Refused to/i.test(text)) report.violations.push(text);
      // A failure page is served with its 4xx or 5xx status, which Chromium logs: not an error.
      else if (
        message.type() === "error" &&
        !/^Failed to load resource: the server responded/.test(text)
      )
        report.errors.push(text);
    });
    page.on("pageerror", (error) => report.errors.push(error.message));
    const response = await page.goto(`${origin}/t/acme/flows/${flow}`);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await page.waitForLoadState("load");
    return { page, context, report };
  }

  const names = [
    "challenge",
    "challenge-error",
    "challenge-enrol",
    "enroll_totp",
    "enroll_webauthn",
    "exemption",
    "report_only",
    "denied",
    "failed",
  ];

  it.each(names)("renders %s under its CSP, styled, accessible and legible", async (name) => {
    const { page, context, report } = await open(name);
    await page.screenshot({ path: `${SCREENSHOTS}/pages-${name}.png`, fullPage: true });

    // The stylesheet applied: CSP let it in.
    expect(await page.$eval("main", (main) => getComputedStyle(main).maxWidth)).toBe("480px");

    const audit = await page.evaluate(() => {
      const problems: string[] = [];
      if (!document.documentElement.lang) problems.push("no lang");
      if (document.querySelectorAll("h1").length !== 1) problems.push("not one h1");
      if (!document.title.trim()) problems.push("no title");
      const ids = Array.from(document.querySelectorAll("[id]")).map((e) => e.id);
      if (new Set(ids).size !== ids.length) problems.push("duplicate ids");
      const fields = document.querySelectorAll<HTMLInputElement | HTMLSelectElement>(
        "input:not([type=hidden]), select",
      );
      for (const field of Array.from(fields)) {
        if (field.labels === null || field.labels.length === 0)
          problems.push(`unlabelled ${field.name}`);
      }
      const referring = document.querySelectorAll("[aria-describedby], [aria-labelledby]");
      for (const element of Array.from(referring)) {
        const refs = `${element.getAttribute("aria-describedby") ?? ""} ${element.getAttribute("aria-labelledby") ?? ""}`;
        for (const ref of refs.split(/\s+/).filter(Boolean)) {
          if (!document.getElementById(ref)) problems.push(`dangling reference ${ref}`);
        }
      }
      for (const image of Array.from(document.querySelectorAll("img"))) {
        if (!image.alt) problems.push("image without alt");
      }
      // WCAG 2.x contrast of every visible text against the first opaque background behind it.
      const channel = (v: number) => {
        const c = v / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      };
      const rgba = (color: string) => (color.match(/[\d.]+/g) ?? []).map(Number);
      const luminance = ([r = 0, g = 0, b = 0]: number[]) =>
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
      const backgroundOf = (element: Element | null): number[] => {
        for (let e = element; e !== null; e = e.parentElement) {
          const color = rgba(getComputedStyle(e).backgroundColor);
          if (color.length === 3 || (color[3] ?? 0) > 0.9) return color;
        }
        return [255, 255, 255];
      };
      let lowest = 21;
      for (const element of Array.from(document.querySelectorAll("body *"))) {
        const hasText = Array.from(element.childNodes).some(
          (n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? "").trim() !== "",
        );
        const box = element.getBoundingClientRect();
        if (!hasText || box.width === 0 || box.height === 0) continue;
        const fg = luminance(rgba(getComputedStyle(element).color));
        const bg = luminance(backgroundOf(element));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        lowest = Math.min(lowest, ratio);
        if (ratio < 4.5)
          problems.push(
            `contrast ${ratio.toFixed(2)} on ${element.tagName}: ${element.textContent?.trim().slice(0, 40) ?? ""}`,
          );
      }
      return { problems, lowest };
    });
    expect(audit.problems).toEqual([]);
    expect(audit.lowest).toBeGreaterThanOrEqual(4.5);

    // Keyboard focus is visible on the first control, whatever it is.
    const controls = await page
      .locator("button:visible, a:visible, input:visible, select:visible")
      .count();
    if (controls > 0) {
      await page.keyboard.press("Tab");
      const outline = await page.evaluate(() => {
        const focused = document.activeElement;
        if (focused === null || focused === document.body) return "nothing focused";
        const style = getComputedStyle(focused);
        return `${style.outlineStyle} ${style.outlineWidth}`;
      });
      expect(outline).toMatch(/^solid [23]px$/);
    }

    // The WebAuthn script ran (CSP let it and the library in): its forms are shown.
    const webauthnForms = page.locator("form[data-webauthn-form]");
    for (let i = 0; i < (await webauthnForms.count()); i += 1) {
      await expect.poll(() => webauthnForms.nth(i).isVisible()).toBe(true);
    }
    if (name === "enroll_totp") {
      const qr = await page.locator(".qr svg").boundingBox();
      expect(qr?.width).toBeGreaterThan(100);
    }
    expect(report.violations).toEqual([]);
    expect(report.errors).toEqual([]);
    await context.close();
  });

  it("fits a small phone screen", async () => {
    for (const name of ["challenge", "enroll_totp"]) {
      const { page, context, report } = await open(name, { width: 360 });
      await page.screenshot({ path: `${SCREENSHOTS}/pages-${name}-mobile.png`, fullPage: true });
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      expect(overflow).toBeLessThanOrEqual(0);
      expect(report.violations).toEqual([]);
      await context.close();
    }
  });

  it("works without JavaScript, except for passkeys, which it explains", async () => {
    const { page, context } = await open("challenge", { javaScriptEnabled: false });
    await page.screenshot({ path: `${SCREENSHOTS}/pages-challenge-noscript.png`, fullPage: true });
    expect(await page.locator("form[data-webauthn-form]").isVisible()).toBe(false);
    // Playwright's text matching skips <noscript>; with scripting off its content is shown.
    const explained = page.locator(".notice-info").filter({ hasText: "need JavaScript" });
    expect(await explained.isVisible()).toBe(true);
    actions.length = 0;
    await page.getByLabel("Code from the app").fill("123456");
    const posted = page.waitForRequest((r) => r.method() === "POST");
    await page.getByRole("button", { name: "Verify" }).click();
    // The page's referrer policy lets the browser send its origin, which the route checks.
    expect((await posted).headers().origin).toBe(origin);
    await expect.poll(() => actions.length).toBe(1);
    expect(actions).toEqual([
      {
        flow: "challenge",
        action: {
          kind: "verify_totp",
          csrf: FRAME.csrfToken,
          authenticator: "auth_1",
          code: "123456",
        },
      },
    ]);
    await context.close();
  });

  it("registers a passkey: options fetched with the CSRF header, the result posted in the form", async () => {
    const { page, context, report } = await open("enroll_webauthn");
    const authenticator = await addVirtualAuthenticator(page);
    ceremonyOptions.set("enroll_webauthn", {
      challenge: "Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2U",
      rp: { id: "localhost", name: "Acme" },
      user: { id: "dXNlci0x", name: "alice", displayName: "Alice" },
      pubKeyCredParams: [{ alg: -7, type: "public-key" }],
      timeout: 5000,
      attestation: "none",
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
    });
    const optionsRequest = page.waitForRequest((r) => r.url().endsWith("/webauthn/options"));
    // The page the form's POST answers with: the next navigation must wait for it.
    const answered = page.waitForEvent("load");
    actions.length = 0;
    await page.getByLabel("Name for this key (optional)").fill("Blue key");
    await Promise.all([
      page.waitForRequest(
        (r) => r.method() === "POST" && r.url().endsWith("/flows/enroll_webauthn"),
      ),
      page.getByRole("button", { name: "Register security key" }).click(),
    ]);
    const request = await optionsRequest;
    expect(request.headers()["x-csrf-token"]).toBe(FRAME.csrfToken);
    expect(request.postDataJSON()).toEqual({ purpose: "registration" });
    await expect.poll(() => actions.length).toBe(1);
    expect(actions[0]!.action).toMatchObject({
      kind: "register_webauthn",
      csrf: FRAME.csrfToken,
      ceremony: "cer_enroll_webauthn",
      name: "Blue key",
      response: { type: "public-key", response: { attestationObject: expect.any(String) } },
    });
    expect(await authenticator.credentials()).toHaveLength(1);
    await answered;

    // The same tab, now holding a passkey, verifies with it.
    ceremonyOptions.set("challenge", {
      challenge: "YW5vdGhlci1jaGFsbGVuZ2UtYW5vdGhlci1jaGFsbGVuZ2U",
      rpId: "localhost",
      allowCredentials: [],
      timeout: 5000,
      userVerification: "required",
    });
    await page.goto(`${origin}/t/acme/flows/challenge`);
    actions.length = 0;
    await Promise.all([
      page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/flows/challenge")),
      page.getByRole("button", { name: "Use a passkey or security key" }).click(),
    ]);
    await expect.poll(() => actions.length).toBe(1);
    expect(actions[0]!.action).toMatchObject({
      kind: "verify_webauthn",
      ceremony: "cer_challenge",
      response: { type: "public-key", response: { signature: expect.any(String) } },
    });
    expect(report.violations).toEqual([]);
    expect(report.errors).toEqual([]);
    await context.close();
  });

  it("explains a failed ceremony in the alert region, in the catalogue's words", async () => {
    const { page, context, report } = await open("challenge");
    const authenticator = await addVirtualAuthenticator(page);
    await authenticator.setUserVerified(false);
    ceremonyOptions.set("challenge", {
      challenge: "dGhpcmQtY2hhbGxlbmdlLXRoaXJkLWNoYWxsZW5nZQ",
      rpId: "localhost",
      allowCredentials: [],
      timeout: 5000,
      userVerification: "required",
    });
    actions.length = 0;
    await page.getByRole("button", { name: "Use a passkey or security key" }).click();
    const alert = page.getByRole("alert");
    await expect
      .poll(() => alert.textContent())
      .toMatch(/cancelled or timed out|could not be used/);
    await page.screenshot({
      path: `${SCREENSHOTS}/pages-challenge-webauthn-error.png`,
      fullPage: true,
    });
    expect(
      await page.getByRole("button", { name: "Use a passkey or security key" }).isEnabled(),
    ).toBe(true);
    expect(actions).toEqual([]);

    // The options endpoint refusing (no passkey registered) is explained too.
    ceremonyOptions.delete("challenge");
    await page.getByRole("button", { name: "Use a passkey or security key" }).click();
    await expect
      .poll(() => alert.textContent())
      .toBe("The request could not be started. Reload the page and try again.");
    expect(report.violations).toEqual([]);
    await context.close();
  });

  it("marks the script's English fallbacks as English, and puts a button's marked label back", async () => {
    // A French catalogue that lacks the passkey button's label and the script's error messages.
    addCatalogue("fr", {
      "challenge.heading": "Vérifiez que c’est vous",
      "page.webauthn_busy": "En attente de votre clé…",
    });
    const { page, context, report } = await open("challenge", { locale: "fr-FR" });
    expect(await page.locator("html").getAttribute("lang")).toBe("fr");
    const button = page.locator("button[data-webauthn]");
    expect(await button.locator('span[lang="en"]').textContent()).toBe(
      "Use a passkey or security key",
    );
    const authenticator = await addVirtualAuthenticator(page);
    await authenticator.setUserVerified(false);
    ceremonyOptions.set("challenge", {
      challenge: "Zm91cnRoLWNoYWxsZW5nZS1mb3VydGgtY2hhbGxlbmdl",
      rpId: "localhost",
      allowCredentials: [],
      timeout: 5000,
      userVerification: "required",
    });
    actions.length = 0;
    await button.click();
    const alert = page.getByRole("alert");
    await expect
      .poll(() => alert.textContent())
      .toMatch(/cancelled or timed out|could not be used/);
    expect(await alert.getAttribute("lang")).toBe("en");
    await expect.poll(() => button.isEnabled()).toBe(true);
    expect(await button.getAttribute("lang")).toBeNull();
    expect(await button.locator('span[lang="en"]').textContent()).toBe(
      "Use a passkey or security key",
    );
    expect(actions).toEqual([]);
    expect(report.violations).toEqual([]);
    expect(report.errors).toEqual([]);
    await context.close();
  });

  // Cache-Control: no-store keeps this Chromium from keeping the pages in its back/forward cache,
  // but a browser may keep them all the same (Chrome has trialled it): with the header taken off,
  // the cache keeps one here, and going back (from the page the flow leads to, at another URL as
  // the platform's is) restores it as it was left.
  it("gives a page restored from the back/forward cache a usable passkey button again", async () => {
    const cachingBrowser = await launchChromium({ backForwardCache: true });
    const context = await cachingBrowser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    // The page and its script's request, not the form's post (whose redirect the browser follows).
    await page.route(/\/flows\/enroll_webauthn(\/webauthn\/options)?$/, async (route) => {
      if (route.request().method() === "POST" && !route.request().url().endsWith("/options")) {
        return route.continue();
      }
      const response = await route.fetch();
      const headers = response.headers();
      delete headers["cache-control"];
      await route.fulfill({ response, headers });
    });
    await page.goto(`${origin}/t/acme/flows/enroll_webauthn`);
    await addVirtualAuthenticator(page);
    ceremonyOptions.set("enroll_webauthn", {
      challenge: "ZmlmdGgtY2hhbGxlbmdlLWZpZnRoLWNoYWxsZW5nZQ",
      rp: { id: "localhost", name: "Acme" },
      user: { id: "dXNlci0y", name: "alice", displayName: "Alice" },
      pubKeyCredParams: [{ alg: -7, type: "public-key" }],
      timeout: 5000,
      attestation: "none",
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
    });
    // What the test leaves in the page's script tells a restored page from a new one.
    await page.evaluate(() => {
      (window as unknown as { kept: boolean }).kept = true;
    });
    // The ceremony succeeds: the form is posted with the button still busy, and the flow
    // answers with the next page.
    redirects.set("enroll_webauthn", "/t/acme/flows/exemption");
    actions.length = 0;
    await page.getByRole("button", { name: "Register security key" }).click();
    await expect.poll(() => actions.length).toBe(1);
    await page.waitForFunction(() => !(window as unknown as { kept?: boolean }).kept);
    await page.waitForLoadState("load");

    await page.goBack({ waitUntil: "commit" });
    await page.waitForFunction(() => document.readyState === "complete");
    expect(await page.evaluate(() => (window as unknown as { kept?: boolean }).kept)).toBe(true);
    const button = page.locator("button[data-webauthn]");
    expect(await button.isEnabled()).toBe(true);
    expect(await button.textContent()).toBe("Register security key");
    expect(await page.locator("input[name=response]").inputValue()).toBe("");
    expect(await page.locator("input[name=ceremony]").inputValue()).toBe("");
    expect(await page.getByRole("alert").textContent()).toBe("");
    // And it works: another ceremony starts (its options answered before the page goes).
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/flows/enroll_webauthn/webauthn/options")),
      button.click(),
    ]);
    expect(errors).toEqual([]);
    redirects.delete("enroll_webauthn");
    // A request the script still makes must not meet a handler whose page has closed.
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await context.close();
    await cachingBrowser.close();
  });
});
