// Threat: a mistyped setting that leaves the server on its default without anyone knowing.
// `TENANT_MFA_ENCRYPTION_KEY` (for `…_KEYS`) made the embedded store seal with a generated key
// file instead of the operator's keys; `TENANT_MFA_DB_URL` (for `…_DB`) ran the server on an
// empty SQLite store under ./data instead of the shared PostgreSQL; `TENANT_MFA_TRUSTED_PROXIES`
// trusted no proxy. Every such variable was ignored in silence. Each `TENANT_MFA_*` variable that
// nothing reads is now named at start, with the setting it is closest to, and never with its
// value (it may be a key or a password). Variables of the prefix that are not the server's (the
// SDK's API key in the docs, the tests' settings) stay quiet.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SERVER_VARIABLES } from "./load-config.js";
import {
  findUnknownVariables,
  OTHER_VARIABLES,
  unknownVariableWarning,
} from "./unknown-variables.js";

const SECRET = "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LW11c3Qtbm90LWxlYWs=";

describe("unknown TENANT_MFA_* variables", () => {
  it.each([
    ["TENANT_MFA_ENCRYPTION_KEY", "TENANT_MFA_ENCRYPTION_KEYS"],
    ["TENANT_MFA_DB_URL", "TENANT_MFA_DB"],
    ["TENANT_MFA_DATABSE", undefined],
    ["TENANT_MFA_PROT", "TENANT_MFA_PORT"],
    ["TENANT_MFA_HOSTNAME", "TENANT_MFA_HOST"],
    ["TENANT_MFA_LOGLEVEL", "TENANT_MFA_LOG_LEVEL"],
    ["TENANT_MFA_TRUSTED_PROXIES", "TENANT_MFA_TRUST_PROXY"],
    ["TENANT_MFA_PUBLIC_URI", "TENANT_MFA_PUBLIC_URL"],
    ["TENANT_MFA_RATE_LIMIT_WINDOW", "TENANT_MFA_RATE_LIMIT_WINDOW_SECONDS"],
    ["TENANT_MFA_EXEMPTION_MAX_DAYS", "TENANT_MFA_EXEMPTIONS_MAX_DAYS"],
    ["tenant_mfa_port", "TENANT_MFA_PORT"],
    ["TENANT_MFA_Db", "TENANT_MFA_DB"],
    ["TENANT_MFA_COLOUR", undefined],
  ])("names %s, suggesting %s", (name, suggestion) => {
    expect(findUnknownVariables({ [name]: SECRET })).toEqual([
      suggestion === undefined ? { name } : { name, suggestion },
    ]);
  });

  it("says what is ignored and what was probably meant, never the value", () => {
    const [unknown] = findUnknownVariables({ TENANT_MFA_ENCRYPTION_KEY: SECRET });
    const warning = unknownVariableWarning(unknown ?? { name: "" });
    expect(warning).toBe(
      "TENANT_MFA_ENCRYPTION_KEY is not a tenant-mfa setting and is ignored (did you mean TENANT_MFA_ENCRYPTION_KEYS?)",
    );
    expect(unknownVariableWarning({ name: "TENANT_MFA_COLOUR" })).toBe(
      "TENANT_MFA_COLOUR is not a tenant-mfa setting and is ignored",
    );
  });

  it("says nothing of the server's variables, the prefix's other users, or other prefixes", () => {
    const env = Object.fromEntries(
      [...SERVER_VARIABLES, ...OTHER_VARIABLES, "PATH", "TENANT_MFA", "MY_TENANT_MFA_DB"].map(
        (name) => [name, SECRET],
      ),
    );
    expect(findUnknownVariables(env)).toEqual([]);
    expect(OTHER_VARIABLES).toEqual([
      "TENANT_MFA_KEY",
      "TENANT_MFA_TEST_PG",
      "TENANT_MFA_TEST_CHROMIUM",
    ]);
  });

  it("lists several in name order, empty ones too", () => {
    expect(
      findUnknownVariables({ TENANT_MFA_ZZZ: "", TENANT_MFA_DB_URL: "x", TENANT_MFA_DB: "y" }).map(
        (unknown) => unknown.name,
      ),
    ).toEqual(["TENANT_MFA_DB_URL", "TENANT_MFA_ZZZ"]);
  });
});

// Whatever the code, its docs or its bench call a TENANT_MFA_* variable is either the
// server's or one of the prefix's known other users: a variable added for the SDK or the tests
// without being listed would be reported to every operator who sets it.
describe("the variables the repository names", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  /** Process warning codes, which share the prefix and are no variables. */
  const WARNING_CODES = ["TENANT_MFA_REFUSALS_LOST"];

  function* filesUnder(folder: string): Generator<string> {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) yield* filesUnder(path);
      // Tests name typos on purpose; what they read comes from their test-support files.
      else if (/\.(ts|md|json|js|cjs|mjs)$/.test(entry) && !entry.endsWith(".test.ts")) yield path;
    }
  }

  it("are each known to the server", () => {
    const files = [
      ...filesUnder(join(root, "src")),
      ...filesUnder(join(root, "docs")),
      ...filesUnder(join(root, "bench")),
      join(root, "README.md"),
      join(root, "package.json"),
    ];
    const named = new Set<string>();
    for (const file of files) {
      for (const match of readFileSync(file, "utf8").matchAll(/\bTENANT_MFA_[A-Z0-9_]*[A-Z0-9]/g))
        named.add(match[0]);
    }
    const unknown = [...named].filter(
      (name) => !WARNING_CODES.includes(name) && findUnknownVariables({ [name]: "" }).length > 0,
    );
    expect(unknown).toEqual([]);
    expect(named).toContain("TENANT_MFA_TEST_PG");
    expect(named).toContain("TENANT_MFA_KEY");
  });
});
