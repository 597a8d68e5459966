import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./load-config.js";

const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-config-"));
function writeConfig(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("gives the documented defaults when nothing is set", () => {
    expect(loadConfig({ env: {} })).toEqual({
      db: "sqlite:./data/tenant-mfa.db",
      port: 8080,
      host: "127.0.0.1",
      logLevel: "info",
      bodyLimitBytes: 256 * 1024,
      trustProxy: false,
      exemptions: { maxDays: 90, breakGlassMaxDays: 7, maxRenewals: 2, maxActivePerTenant: 100 },
    });
  });

  it("layers the file, then the environment, then the command line", () => {
    const file = writeConfig("layers.json", {
      db: "postgres://db/file",
      port: 9000,
      host: "0.0.0.0",
      exemptions: { maxDays: 30, maxRenewals: 1 },
    });
    const config = loadConfig({
      file,
      env: { TENANT_MFA_PORT: "9001", TENANT_MFA_EXEMPTIONS_MAX_DAYS: "45", OTHER: "x" },
      overrides: { port: "9002", db: "sqlite::memory:" },
    });
    expect(config.db).toBe("sqlite::memory:");
    expect(config.port).toBe(9002);
    expect(config.host).toBe("0.0.0.0");
    expect(config.exemptions).toEqual({
      maxDays: 45,
      breakGlassMaxDays: 7,
      maxRenewals: 1,
      maxActivePerTenant: 100,
    });
  });

  it("returns a deep-frozen object", () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.exemptions)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it("names the bad key and where its value came from", () => {
    const problems = problemsOf(() => loadConfig({ env: { TENANT_MFA_PORT: "eighty" } }));
    expect(problems).toEqual([
      "port: expected a number between 1 and 65535 (from TENANT_MFA_PORT)",
    ]);
    const error = (() => {
      try {
        loadConfig({ env: {}, overrides: { port: "70000" } });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error?.message).toContain(
      "port: expected a number between 1 and 65535 (from command line)",
    );
  });

  it("reports every problem at once, including unknown keys in the file", () => {
    const file = writeConfig("bad.json", {
      port: 0,
      logLevel: "loud",
      db: "mysql://nope",
      exemptions: { maxDays: "ninety", maxDayz: 3 },
      colour: "blue",
    });
    const problems = problemsOf(() =>
      loadConfig({ file, env: { TENANT_MFA_BODY_LIMIT_BYTES: "-1" } }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        `port: expected a number between 1 and 65535 (from file ${file})`,
        expect.stringMatching(/^logLevel: expected one of fatal, error, .*\(from file /),
        `db: expected sqlite:PATH, sqlite::memory: or postgres://… (from file ${file})`,
        `exemptions.maxDays: expected a number of days between 1 and 3650 (from file ${file})`,
        `exemptions.maxDayz: unknown key (from file ${file})`,
        `colour: unknown key (from file ${file})`,
        "bodyLimitBytes: expected a number of bytes between 1024 and 16777216 (from TENANT_MFA_BODY_LIMIT_BYTES)",
      ]),
    );
    expect(problems).toHaveLength(7);
  });

  it("rejects a file that is not JSON or not an object", () => {
    const notJson = writeConfig("not-json.json", "{ port: 1");
    expect(problemsOf(() => loadConfig({ file: notJson, env: {} }))[0]).toMatch(
      /^config file .*not-json\.json: not valid JSON/,
    );
    const list = writeConfig("list.json", [1, 2]);
    expect(problemsOf(() => loadConfig({ file: list, env: {} }))).toEqual([
      `config file ${list}: expected a JSON object`,
    ]);
    expect(problemsOf(() => loadConfig({ file: join(dir, "missing.json"), env: {} }))).toEqual([
      `config file ${join(dir, "missing.json")}: cannot be read (ENOENT)`,
    ]);
  });

  it("reads booleans and JSON from the environment", () => {
    const config = loadConfig({
      env: {
        TENANT_MFA_TRUST_PROXY: "true",
        TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([{ id: "k1", key: "c2VjcmV0" }]),
      },
    });
    expect(config.trustProxy).toBe(true);
    expect(config.encryptionKeys).toEqual([{ id: "k1", key: "c2VjcmV0" }]);
    expect(problemsOf(() => loadConfig({ env: { TENANT_MFA_TRUST_PROXY: "maybe" } }))).toEqual([
      "trustProxy: expected true or false (from TENANT_MFA_TRUST_PROXY)",
    ]);
  });
});
