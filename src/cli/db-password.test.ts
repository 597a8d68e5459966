// Threat: `--db postgres://app:PASSWORD@host/db` puts the store's password on the command line,
// which every local user reads in `ps` (and /proc/PID/cmdline) for as long as the command runs.
// It is still accepted (scripts depend on it), but a warning on stderr names the risk and the
// ways that keep the password off the command line (TENANT_MFA_DB, PGPASSWORD, ~/.pgpass),
// never the password; and no message of a command that cannot reach the store (refused, no such
// role) shows the password: each names the store by its URL with the password masked.
import { describe, expect, it, vi } from "vitest";
import { describeOnPostgres } from "../app/test-support/postgres-instances.js";
import {
  createTestDatabase,
  type TestDatabase,
} from "../storage/postgres/test-support/test-database.js";
import { runCli as run } from "./test-support/run-cli.js";

vi.setConfig({ testTimeout: 60_000 });

const PASSWORD = "S3cret-pw";
const WARNING =
  "tenant-mfa: warning: --db holds the store's password (postgres://postgres:***@127.0.0.1:5432/";

/** `url` with the password set: the test server trusts every connection and ignores it. */
const withPassword = (url: string) => {
  const parsed = new URL(url);
  parsed.password = PASSWORD;
  return parsed.toString();
};

describeOnPostgres(
  {
    title: "a PostgreSQL password given on the command line",
    skippedTitle: "a PostgreSQL password given on the command line",
    tests: "command-line password tests",
  },
  () => {
    let database: TestDatabase | undefined;

    it("is still used, with a warning on stderr that names the risk and the alternatives, never the password", async () => {
      database = await createTestDatabase({ empty: true });
      try {
        const url = withPassword(database.url);
        const migrated = await run(["migrate", "--db", url]);
        expect(migrated.exitCode, migrated.stderr).toBe(0);
        expect(migrated.stdout).toMatch(/^Applied \d+ migration\(s\)/);
        expect(migrated.stderr).toBe(
          `${WARNING}${database.name}) on the command line, where every user of this machine can read it (ps, /proc) while the command runs: ` +
            "give the URL in TENANT_MFA_DB (or the configuration file) instead, or leave the password out of it and set PGPASSWORD or a ~/.pgpass file.\n",
        );
        const verified = await run(["audit", "verify", "--db", url]);
        expect([verified.exitCode, verified.stdout]).toEqual([0, expect.stringMatching(/^ok: /)]);
        expect(verified.stderr).toContain(WARNING);
        expect(verified.stderr).not.toContain(PASSWORD);

        // The same URL from the environment, or a URL without a password: nothing to warn of.
        for (const [args, env] of [
          [[], { TENANT_MFA_DB: url }],
          [["--db", database.url], {}],
        ] as const) {
          const quiet = await run(["audit", "verify", ...args], env);
          expect([quiet.exitCode, quiet.stderr]).toEqual([0, ""]);
        }
      } finally {
        await database.drop();
      }
    });

    it("is warned of when it is in the URL's query too", async () => {
      const result = await run([
        "audit",
        "verify",
        "--db",
        `postgres://app@127.0.0.1:1/tenant_mfa?password=${PASSWORD}`,
      ]);
      expect(result.stderr).toContain(
        "tenant-mfa: warning: --db holds the store's password (postgres://app@127.0.0.1:1/tenant_mfa)",
      );
      expect(result.stderr).not.toContain(PASSWORD);
    });

    it("is named in no message of a server that refuses the role", async () => {
      const url = `postgres://no_such_role:${PASSWORD}@127.0.0.1:5432/no_such_database`;
      for (const command of [["audit", "verify"], ["migrate"], ["bootstrap"]]) {
        const result = await run([...command], { TENANT_MFA_DB: url });
        expect([result.exitCode, result.stdout], command.join(" ")).toEqual([2, ""]);
        expect(result.stderr).toBe(
          "tenant-mfa: cannot connect to the store postgres://no_such_role:***@127.0.0.1:5432/no_such_database: " +
            'role "no_such_role" does not exist\n',
        );
      }
    });
  },
);

describe("a store that cannot be reached", () => {
  const url = `postgres://app:${PASSWORD}@127.0.0.1:1/tenant_mfa`;
  it.each([
    [["audit", "verify"]],
    [["audit", "checkpoint"]],
    [["keys", "rotate"]],
    [["secrets", "reseal"]],
    [["migrate"]],
    [["bootstrap"]],
    [["serve", "--port", "18999"]],
  ])("%j names it with its password masked (exit 2)", async (command) => {
    const result = await run([...command, "--db", url]);
    expect([result.exitCode, result.stdout]).toEqual([2, ""]);
    expect(result.stderr).toContain(
      "tenant-mfa: cannot connect to the store postgres://app:***@127.0.0.1:1/tenant_mfa: connect ECONNREFUSED 127.0.0.1:1\n",
    );
    expect(result.stderr).not.toContain(PASSWORD);
  });
});
