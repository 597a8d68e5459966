import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema } from "./config-schema.js";
import { loadConfig, SETTABLE } from "./load-config.js";

// Operators configure the server from the README's table: every key and its variable is there,
// with the default the server applies, and the table names nothing the server does not read.
describe("the README's configuration table", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const rows = [
    ...readme.matchAll(/^\| `([A-Za-z.]+)` +\| `(TENANT_MFA_[A-Z_]+)` +\| ([^|]+?) +\|/gm),
  ].map(([, key, variable, byDefault]) => ({
    key: String(key),
    variable: String(variable),
    byDefault: String(byDefault),
  }));

  it("lists every setting with its variable, once, and nothing else", () => {
    const settings = SETTABLE.map(({ path, env }) => `${path.join(".")} ${env}`);
    expect(rows.map(({ key, variable }) => `${key} ${variable}`).sort()).toEqual(settings.sort());
  });

  it("covers every key of the configuration schema", () => {
    const documented = new Set(rows.map(({ key }) => key.split(".")[0]));
    expect([...documented].sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it("gives the default the server applies, where it names a value", () => {
    const defaults = loadConfig({ env: {} }) as unknown as Record<string, unknown>;
    const valueAt = (key: string): unknown =>
      key
        .split(".")
        .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], defaults);
    const named = rows.filter(({ key }) => valueAt(key) !== undefined);
    // Every key with a default says it: all but publicUrl, encryptionKeys and
    // webauthn.verificationThreads, whose defaults the server works out (from host and port, a
    // key file, the cores), and metrics.token, which has none.
    expect(named.map(({ key }) => key)).toHaveLength(SETTABLE.length - 4);
    for (const { key, byDefault } of named) {
      const literal = /^`([^`]+)`/.exec(byDefault)?.[1];
      const value = valueAt(key);
      expect(literal, key).toBe(typeof value === "string" ? value : JSON.stringify(value));
    }
  });
});
