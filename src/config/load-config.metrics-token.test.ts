/**
 * Threat: a guessable metrics token. `/metrics` shows traffic per route and IdP refusals per
 * tenant; `metrics.token` (`TENANT_MFA_METRICS_TOKEN`) keeps it to holders of the token. A short
 * one (a word, a port number pasted in the wrong variable) would be guessed, so the configuration
 * refuses fewer than 32 characters, and characters a bearer token cannot carry (RFC 6750 §2.1),
 * naming the key and where it came from, never the value: the message goes to terminals and logs.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./load-config.js";
import { problemsOf } from "./test-support/config-problems.js";

const TOKEN = "mtk_0123456789abcdefghijklmnopqrstuv";
const SHORT = "mtk_0123456789abcdefghijklmnopq"; // 31 characters
const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-metrics-"));

describe("metrics.token", () => {
  it("is unset by default", () => {
    expect(loadConfig({ env: {} }).metrics).toEqual({});
  });

  it("is read from the environment and from the file", () => {
    expect(SHORT).toHaveLength(31);
    expect(loadConfig({ env: { TENANT_MFA_METRICS_TOKEN: TOKEN } }).metrics.token).toBe(TOKEN);
    const file = join(dir, "token.json");
    writeFileSync(file, JSON.stringify({ metrics: { token: `${TOKEN}+/=` } }));
    expect(loadConfig({ file, env: {} }).metrics.token).toBe(`${TOKEN}+/=`);
  });

  it("refuses fewer than 32 characters, naming the key and its source, never the value", () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { TENANT_MFA_METRICS_TOKEN: SHORT, TENANT_MFA_PORT: "0" } }),
    );
    expect([...problems].sort()).toEqual([
      "metrics.token: expected at least 32 characters (a random value: `openssl rand -base64 32`) (from TENANT_MFA_METRICS_TOKEN)",
      "port: expected a number between 1 and 65535 (from TENANT_MFA_PORT)",
    ]);
    for (const problem of problems) expect(problem).not.toContain(SHORT);
  });

  it("refuses characters a bearer token cannot carry, never echoing the value", () => {
    const file = join(dir, "spaces.json");
    for (const token of [`${TOKEN} x`, `${TOKEN}\n`, `"${TOKEN}"`, `${TOKEN}=x`, 42]) {
      writeFileSync(file, JSON.stringify({ metrics: { token } }));
      const problems = problemsOf(() => loadConfig({ file, env: {} }));
      expect(problems, String(token)).toEqual([
        `metrics.token: expected a bearer token: letters, digits and - . _ ~ + / (then = only) (from file ${file})`,
      ]);
      expect(problems.join("")).not.toContain(TOKEN);
    }
  });
});
