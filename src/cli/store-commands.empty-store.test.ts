// Threat: a store command run against a database that exists but holds no tenant-mfa store: a
// PostgreSQL URL naming the wrong database of the right server (its default `postgres`, another
// application's), or an empty SQLite file. `keys rotate --compromised` migrated it, made a key in
// it and said "every earlier key was withdrawn" while the real server went on signing with the
// stolen key; `secrets reseal` and `audit checkpoint` reported on the wrong store too, and `audit
// verify` told the auditor to migrate it. As for a SQLite path that does not exist
// (store-commands.missing-store.test.ts), these commands refuse it (exit 2), naming it, and
// write nothing to it; `migrate`, `bootstrap` and `serve` still set up a new store.
import { randomBytes } from "node:crypto";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  findUnreachableReason,
  type TestDatabase,
} from "../storage/postgres/test-support/test-database.js";
import { createProgram } from "./program.js";

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number;
}

async function run(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const result: Run = { stdout: "", stderr: "", exitCode: 0 };
  await createProgram({
    env,
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
  }).parseAsync(["node", "tenant-mfa", ...args]);
  return result;
}

const keys = JSON.stringify([{ id: "k1", key: randomBytes(32).toString("base64") }]);
const COMMANDS = [
  [["keys", "rotate", "--compromised"]],
  [["secrets", "reseal"]],
  [["audit", "checkpoint"]],
  [["audit", "verify"]],
];

describe("store commands on an empty SQLite file", () => {
  it.each(COMMANDS)(
    "%j fails with exit 2 naming the store, and writes nothing",
    async (command) => {
      const path = join(mkdtempSync(join(tmpdir(), "tenant-mfa-empty-")), "store.db");
      writeFileSync(path, "");
      const result = await run([...command, "--db", `sqlite:${path}`], {
        TENANT_MFA_ENCRYPTION_KEYS: keys,
      });
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(`no tenant-mfa store in sqlite:${path}`);
      expect(statSync(path).size).toBe(0);
    },
  );
});

const unreachable = await findUnreachableReason();
const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";

// Outside CI, without a PostgreSQL server, the suite is skipped loudly and says why; CI runs it
// whatever happens, so that an unreachable server fails there.
const skipPostgres = unreachable !== undefined && !inCi;
if (skipPostgres) {
  console.warn(`\n*** Store commands on PostgreSQL NOT tested: ${unreachable} ***\n`);
}

describe.skipIf(skipPostgres)(
  skipPostgres
    ? `store commands on an empty PostgreSQL database (skipped: no PostgreSQL reachable: ${unreachable ?? ""})`
    : "store commands on an empty PostgreSQL database",
  () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase({ empty: true });
    });
    afterAll(() => database.drop());

    const tables = async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ count: string }>(
          "select count(*) from information_schema.tables where table_schema = 'public'",
        );
        return Number(rows[0]?.count);
      } finally {
        await client.end();
      }
    };

    it.each(COMMANDS)(
      "%j fails with exit 2 naming the store, and writes nothing",
      async (command) => {
        const result = await run([...command, "--db", database.url], {
          TENANT_MFA_ENCRYPTION_KEYS: keys,
        });
        expect(result.exitCode).toBe(2);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain("no tenant-mfa store in postgres");
        expect(await tables()).toBe(0);
      },
    );

    it("is still set up by migrate, after which the commands run", async () => {
      expect((await run(["migrate", "--db", database.url])).exitCode).toBe(0);
      const rotated = await run(["keys", "rotate", "--db", database.url], {
        TENANT_MFA_ENCRYPTION_KEYS: keys,
      });
      expect([rotated.exitCode, rotated.stderr]).toEqual([0, ""]);
    });
  },
);
