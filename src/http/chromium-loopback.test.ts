import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCeremonyPage } from "./test-support/chromium/ceremony-page.js";
import {
  browserSuiteSkip,
  CHROMIUM_POLICY,
  CHROMIUM_POLICY_FILE,
  launchChromium,
} from "./test-support/chromium/launch-chromium.js";
import { readFileSync } from "node:fs";

// The browser tests' own safety: the test browser reaches loopback and nothing else
// (../shared/BROWSER-TESTS.md), so a test can never leak a request beyond the machine.
const suite = browserSuiteSkip("the test browser stays on loopback");

(suite.skip ? describe.skip : describe)(suite.title, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("resolves no name outside loopback", async () => {
    const page = await browser.newPage();
    await expect(page.goto("http://example.com/")).rejects.toThrow(/ERR_NAME_NOT_RESOLVED/);
    await page.close();
  });

  it("reaches a page served on a name under localhost", async () => {
    const ceremony = await openCeremonyPage(browser, "acme.localhost");
    expect(await ceremony.page.title()).toBe("ceremony");
    expect(ceremony.origin).toMatch(/^http:\/\/acme\.localhost:\d+$/);
    await ceremony.close();
  });

  it("runs under the managed policy that turns off the error page's resolver query", () => {
    const policy = JSON.parse(readFileSync(CHROMIUM_POLICY_FILE, "utf8")) as Record<
      string,
      unknown
    >;
    expect(policy).toEqual(CHROMIUM_POLICY);
    expect(policy.AlternateErrorPagesEnabled).toBe(false);
  });
});
