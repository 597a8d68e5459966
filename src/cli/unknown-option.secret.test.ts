// Threat: a mistyped option carries a secret onto stderr, which terminals, CI logs and the
// journal keep (DESIGN invariant 6: nothing secret is logged). `--db-url=postgres://app:PW@…`
// for `--db`, or `--DB=…`, is an unknown option, and the parser quoted it whole, value and
// password included. As a mistyped TENANT_MFA_* variable is named without its value, the
// unknown option is named without what follows its `=`.
import { describe, expect, it } from "vitest";
import { usageErrorOf } from "./test-support/usage-error.js";

const PASSWORD = "S3cret-pw-9f2c";
const URL_WITH_PASSWORD = `postgres://app:${PASSWORD}@db.internal:5432/tenant_mfa`;
const KEY_MATERIAL = "q2Vx0b8m7c9Qk3Jf1Z4yW6tR8uP0sL2nD5hG7jK9mXc=";

/** What `tenant-mfa ARGS` writes on stderr before the parser ends it as a usage error. */
const stderrOf = async (args: readonly string[]) => (await usageErrorOf(args)).stderr;

describe("an unknown option given with a value", () => {
  it("is named without its value, and one without a value as before", async () => {
    for (const [args, flag] of [
      [["migrate", `--db-url=${URL_WITH_PASSWORD}`], "--db-url"],
      [["audit", "verify", `--DB=${URL_WITH_PASSWORD}`], "--DB"],
      [["serve", `--encryption-keys=[{"id":"k1","key":"${KEY_MATERIAL}"}]`], "--encryption-keys"],
    ] as const) {
      const stderr = await stderrOf(args);
      expect(stderr).toBe(`error: unknown option '${flag}=…'\n`);
      expect(stderr).not.toContain(PASSWORD);
      expect(stderr).not.toContain(KEY_MATERIAL);
    }
    // The suggestion commander makes for a mistyped name is kept where nothing is hidden.
    expect(await stderrOf(["migrate", "--dbx"])).toBe(
      "error: unknown option '--dbx'\n(Did you mean --db?)\n",
    );
  });
});
