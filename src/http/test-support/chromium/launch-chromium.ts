import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { chromium, type Browser } from "playwright-core";

/**
 * Debian's Chromium, kept on loopback as ../shared/BROWSER-TESTS.md requires: flags alone are not
 * enough, so the browser also resolves nothing but loopback names, and a managed policy turns off
 * what still reaches out (the error page's resolver query above all). Never a downloaded browser.
 *
 * @module
 */

/** Where Debian installs Chromium (`apt-get install -y chromium`). */
export const CHROMIUM_PATH = process.env.TENANT_MFA_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** The managed policy `.ci/run` installs as root; the test setup installs it too where it can. */
export const CHROMIUM_POLICY_FILE = "/etc/chromium/policies/managed/tenant-mfa-tests.json";

export const CHROMIUM_POLICY = {
  AlternateErrorPagesEnabled: false,
  BrowserSignin: 0,
  ComponentUpdatesEnabled: false,
  SyncDisabled: true,
  MetricsReportingEnabled: false,
  SafeBrowsingProtectionLevel: 0,
  SearchSuggestEnabled: false,
  NetworkPredictionOptions: 2,
  SpellCheckServiceEnabled: false,
  TranslateEnabled: false,
} as const;

const LOOPBACK_ONLY =
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, " +
  "EXCLUDE 127.0.0.1, EXCLUDE [::1]";

export const CHROMIUM_ARGS: readonly string[] = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  LOOPBACK_ONLY,
];

/** Why browser tests cannot run here, or undefined when they can. */
export function findChromiumMissingReason(): string | undefined {
  if (!existsSync(CHROMIUM_PATH))
    return `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`;
  return undefined;
}

/**
 * Installs the managed policy when it is missing or differs. Returns false when this process may
 * not write it (not root): the caller then warns, since the browser may query a public resolver.
 */
export function installChromiumPolicy(): boolean {
  const wanted = `${JSON.stringify(CHROMIUM_POLICY, null, 2)}\n`;
  try {
    if (existsSync(CHROMIUM_POLICY_FILE) && readFileSync(CHROMIUM_POLICY_FILE, "utf8") === wanted) {
      return true;
    }
    mkdirSync(dirname(CHROMIUM_POLICY_FILE), { recursive: true });
    writeFileSync(CHROMIUM_POLICY_FILE, wanted);
    return true;
  } catch {
    return false;
  }
}

/**
 * Launches Chromium headless with a fresh profile (Playwright makes one when given none).
 * Playwright turns the back/forward cache off; `backForwardCache` leaves it on, for a test of
 * what a page restored from it does.
 */
export async function launchChromium(
  options: { readonly backForwardCache?: boolean } = {},
): Promise<Browser> {
  if (!installChromiumPolicy()) {
    process.stderr.write(
      `\n!!! could not install ${CHROMIUM_POLICY_FILE}: Chromium may query a public resolver\n`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS],
    ...(options.backForwardCache === true
      ? { ignoreDefaultArgs: ["--disable-back-forward-cache"] }
      : {}),
  });
}

/**
 * Whether browser suites skip: only outside CI, and only when Chromium is missing, with a loud
 * notice. In CI (`CI=true`) a missing browser fails the suite instead.
 */
export function browserSuiteSkip(suite: string): { skip: boolean; title: string } {
  const missing = findChromiumMissingReason();
  const skip = missing !== undefined && process.env.CI !== "true";
  if (skip) process.stderr.write(`\n!!! ${missing}: ${suite} skipped\n`);
  return { skip, title: skip ? `${suite} (skipped: ${missing})` : suite };
}
