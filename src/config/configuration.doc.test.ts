import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema } from "./config-schema.js";
import { SETTABLE } from "./load-config.js";

// Operators configure the server from the README's table: every key and its variable is there,
// and the table names no key or variable that the server does not read.
describe("the README's configuration table", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const rows = [...readme.matchAll(/^\| `([A-Za-z.]+)` +\| `(TENANT_MFA_[A-Z_]+)` +\|/gm)].map(
    ([, key, variable]) => `${String(key)} ${String(variable)}`,
  );

  it("lists every setting with its variable, once, and nothing else", () => {
    const settings = SETTABLE.map(({ path, env }) => `${path.join(".")} ${env}`);
    expect(rows.sort()).toEqual(settings.sort());
  });

  it("covers every key of the configuration schema", () => {
    const documented = new Set(rows.map((row) => row.split(/[. ]/)[0]));
    expect([...documented].sort()).toEqual(Object.keys(configSchema.shape).sort());
  });
});
