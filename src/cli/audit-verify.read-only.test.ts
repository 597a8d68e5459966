// Threat: the evidence changed by the act of checking it. `audit verify` opened the store as the
// server does, which applies pending migrations first: an auditor verifying a copy of the store
// (or the live one) with a newer tenant-mfa rewrote its schema and its migrations table before
// reading a single event. Verification only reads: a store whose schema is behind this
// version's migrations is refused (exit 2, naming `tenant-mfa migrate`) with nothing written, on
// SQLite (the file's bytes and time unchanged) and on PostgreSQL (its tables and migrations table
// unchanged); a current store verifies as before.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Migrator, sql, type Kysely, type Migration } from "kysely";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { postgresUnreachable, describeOnPostgres } from "../app/test-support/postgres-instances.js";
import type { Database as StoreTables } from "../storage/kysely/database.js";
import { initialMigration } from "../storage/migrations/0001-initial.js";
import { federationMigration } from "../storage/migrations/0002-federation.js";
import { createPostgresKysely } from "../storage/postgres/create-postgres-kysely.js";
import {
  createTestDatabase,
  type TestDatabase,
} from "../storage/postgres/test-support/test-database.js";
import { createSqliteKysely } from "../storage/sqlite/create-sqlite-kysely.js";
import { createProgram } from "./program.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number;
}

async function run(args: readonly string[]): Promise<Run> {
  const result: Run = { stdout: "", stderr: "", exitCode: 0 };
  await createProgram({
    env: {},
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
  }).parseAsync(["node", "tenant-mfa", ...args]);
  return result;
}

/** Applies only the first two migrations: a store an older tenant-mfa made. */
async function migratePartly(db: Kysely<StoreTables>): Promise<void> {
  const migrations: Record<string, Migration> = {
    "0001-initial": initialMigration,
    "0002-federation": federationMigration,
  };
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  }).migrateToLatest();
  if (error !== undefined) throw new Error("the first two migrations failed", { cause: error });
}

function expectRefusedAsBehind(result: Run): void {
  expect(result.exitCode).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain("tenant-mfa migrate");
}

describe("audit verify on a SQLite store", () => {
  const newFile = () => join(mkdtempSync(join(tmpdir(), "tenant-mfa-verify-ro-")), "store.db");
  /** The file's bytes and time, and the folder's files but SQLite's own -wal and -shm. */
  const snapshot = (file: string) => ({
    bytes: readFileSync(file),
    mtimeMs: statSync(file).mtimeMs,
    beside: readdirSync(join(file, "..")).filter((name) => !/-(wal|shm)$/.test(name)),
  });

  it("refuses a store no migration was applied to, and leaves its file as it was", async () => {
    const file = newFile();
    const raw = new Database(file);
    raw.pragma("journal_mode = WAL");
    raw.close();
    const before = snapshot(file);
    expectRefusedAsBehind(await run(["audit", "verify", "--db", `sqlite:${file}`]));
    expect(snapshot(file)).toEqual(before);
  });

  it("refuses a partly migrated store, and leaves its file and migrations as they were", async () => {
    const file = newFile();
    const db = createSqliteKysely(file);
    await migratePartly(db);
    await db.destroy();
    const before = snapshot(file);
    const result = await run(["audit", "verify", "--db", `sqlite:${file}`, "--json"]);
    expectRefusedAsBehind(result);
    expect(snapshot(file)).toEqual(before);
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare("select name from kysely_migration order by name").all()).toEqual([
      { name: "0001-initial" },
      { name: "0002-federation" },
    ]);
    raw.close();
  });

  it("verifies a copy of a current store alone, and makes no key file beside it", async () => {
    const file = newFile();
    expect((await run(["bootstrap", "--db", `sqlite:${file}`])).exitCode).toBe(0);
    const copy = newFile();
    copyFileSync(file, copy);
    const before = snapshot(copy);
    expect(before.beside).toEqual(["store.db"]);
    const result = await run(["audit", "verify", "--db", `sqlite:${copy}`]);
    expect([result.exitCode, result.stdout]).toEqual([0, "ok: 1 chain(s), 1 event(s) verified\n"]);
    expect(snapshot(copy)).toEqual(before);
  });

  it("verifies a current store, and leaves its file as it was", async () => {
    const file = newFile();
    expect((await run(["bootstrap", "--db", `sqlite:${file}`])).exitCode).toBe(0);
    const before = snapshot(file);
    const result = await run(["audit", "verify", "--db", `sqlite:${file}`]);
    expect([result.exitCode, result.stdout]).toEqual([0, "ok: 1 chain(s), 1 event(s) verified\n"]);
    expect(snapshot(file)).toEqual(before);
  });
});

describeOnPostgres(
  {
    title: "audit verify on a PostgreSQL store",
    skippedTitle: "audit verify on a PostgreSQL store",
    tests: "read-only audit verify tests on PostgreSQL",
  },
  () => {
    let database: TestDatabase | undefined;
    beforeAll(() => {
      if (postgresUnreachable !== undefined)
        throw new Error(`PostgreSQL unreachable in CI: ${postgresUnreachable}`);
    });
    afterEach(async () => {
      await database?.drop();
      database = undefined;
    });

    /** Every table of the database, and the migrations it records as applied. */
    async function schemaOf(url: string) {
      const db = createPostgresKysely(url);
      try {
        const tables = await sql<{ name: string }>`
          select table_name as name from information_schema.tables
          where table_schema = 'public' order by table_name`.execute(db);
        const names = tables.rows.map((row) => row.name);
        const applied = names.includes("kysely_migration")
          ? (
              await sql<{ name: string; timestamp: string }>`
                select name, timestamp from kysely_migration order by name`.execute(db)
            ).rows
          : [];
        return { tables: names, applied };
      } finally {
        await db.destroy();
      }
    }

    it("refuses a database no migration was applied to, and creates no table in it", async () => {
      database = await createTestDatabase();
      expectRefusedAsBehind(await run(["audit", "verify", "--db", database.url]));
      expect(await schemaOf(database.url)).toEqual({ tables: [], applied: [] });
    });

    it("refuses a partly migrated database, and leaves its schema and migrations as they were", async () => {
      database = await createTestDatabase();
      const db = createPostgresKysely(database.url);
      await migratePartly(db);
      await db.destroy();
      const before = await schemaOf(database.url);
      expect(before.applied.map((row) => row.name)).toEqual(["0001-initial", "0002-federation"]);
      expectRefusedAsBehind(await run(["audit", "verify", "--db", database.url]));
      expect(await schemaOf(database.url)).toEqual(before);
    });

    it("verifies a current database", async () => {
      database = await createTestDatabase();
      expect((await run(["bootstrap", "--db", database.url])).exitCode).toBe(0);
      const before = await schemaOf(database.url);
      const result = await run(["audit", "verify", "--db", database.url]);
      expect([result.exitCode, result.stdout]).toEqual([
        0,
        "ok: 1 chain(s), 1 event(s) verified\n",
      ]);
      expect(await schemaOf(database.url)).toEqual(before);
    });
  },
);
