// Threat: a secret pasted where a command belongs (a password or a key meant for a prompt, a
// store URL missing its `--db`) lands on stderr, which terminals, CI logs and the journal keep
// (DESIGN invariant 6: nothing secret is logged). Commander quoted the unknown command whole
// (`error: unknown command 'S3cret…'`). As an unknown option's value is never shown
// (unknown-option.secret.test.ts), the unknown command is not shown: the error names the command
// whose help lists the right ones, and the exit code stays the usage error's.
import { describe, expect, it } from "vitest";
import { usageErrorOf } from "./test-support/usage-error.js";

const PASSWORD = "S3cret-pw-9f2c";
const URL_WITH_PASSWORD = `postgres://app:${PASSWORD}@db.internal:5432/tenant_mfa`;

describe("an unknown command", () => {
  it("is not shown, at the top level or under a group, and still exits 1", async () => {
    for (const [args, help] of [
      [[PASSWORD], "tenant-mfa --help"],
      [[URL_WITH_PASSWORD, "migrate"], "tenant-mfa --help"],
      [["audit", PASSWORD], "tenant-mfa audit --help"],
      [["keys", URL_WITH_PASSWORD], "tenant-mfa keys --help"],
    ] as const) {
      const { stderr, exitCode } = await usageErrorOf(args);
      expect(stderr).toBe(`error: unknown command (not shown); see ${help}\n`);
      expect(stderr).not.toContain(PASSWORD);
      expect(exitCode).toBe(1);
    }
  });

  it("keeps commander's suggestion of a known command, which names only that command", async () => {
    expect((await usageErrorOf(["serv"])).stderr).toBe(
      "error: unknown command (not shown); see tenant-mfa --help\n(Did you mean serve?)\n",
    );
  });
});
