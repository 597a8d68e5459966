// Threat: the evidence changed by the act of checking it. `audit verify` opened the store as the
// server does, which applies pending migrations first: an auditor verifying a copy of the store
// (or the live one) with a newer tenant-mfa rewrote its schema and its migrations table before
// reading a single event. Verification only reads: a store whose schema is behind this
// version's migrations is refused (exit 2, naming `tenant-mfa migrate`) with nothing written, on
// SQLite (the file's bytes and time unchanged) and on PostgreSQL (its tables and migrations table
// unchanged); a current store verifies as before.
// And once past that check, the store it reads is opened read-only all the way down: a
// read-write SQLite connection switched an auditor's rollback-journal copy (VACUUM INTO) to WAL,
// rewriting its header, and checkpointed a copy's WAL into its file; a write-protected copy
// could not be verified at all. A read-only connection (SQLite's, or PostgreSQL's read-only
// transactions) leaves the evidence byte for byte as it was, and still finds a tampered event.
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Migrator, sql, type Kysely, type Migration } from "kysely";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication } from "../main.js";
import { postgresUnreachable, describeOnPostgres } from "../app/test-support/postgres-instances.js";
import type { Database as StoreTables } from "../storage/kysely/database.js";
import { initialMigration } from "../storage/migrations/0001-initial.js";
import { federationMigration } from "../storage/migrations/0002-federation.js";
import { createPostgresKysely } from "../storage/postgres/create-postgres-kysely.js";
import {
  countConnections,
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

/** The application's report of a write the database refused: the connection is read-only. */
const refusedAsReadOnly = {
  code: "store.unavailable",
  // SQLite: "attempt to write a readonly database"; PostgreSQL: "cannot execute INSERT in a
  // read-only transaction".
  details: { cause: expect.stringMatching(/read-?only/) as unknown },
};

/** Opens the application over `db` read-only and shows that the database refuses a write. */
async function expectWritesRefused(db: string): Promise<void> {
  const opened = await openApplication({ db, exemptions: DEFAULT_SETTINGS.exemptions }, undefined, {
    readOnly: true,
  });
  try {
    await expect(opened.bootstrap({ name: "second", force: true })).rejects.toMatchObject(
      refusedAsReadOnly,
    );
  } finally {
    await opened.close();
  }
}

function expectRefusedAsBehind(result: Run): void {
  expect(result.exitCode).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain("tenant-mfa migrate");
}

describe("audit verify on a SQLite store", () => {
  const newFile = () => join(mkdtempSync(join(tmpdir(), "tenant-mfa-verify-ro-")), "store.db");
  /** A new store file holding one platform administrator key (one audit event). */
  const bootstrapped = async () => {
    const file = newFile();
    expect((await run(["bootstrap", "--db", `sqlite:${file}`])).exitCode).toBe(0);
    return file;
  };
  /** `file` copied alone into a folder of its own. */
  const copyOf = (file: string) => {
    const copy = newFile();
    copyFileSync(file, copy);
    return copy;
  };
  const verifyOk = async (file: string) => {
    const result = await run(["audit", "verify", "--db", `sqlite:${file}`]);
    expect([result.exitCode, result.stdout]).toEqual([0, "ok: 1 chain(s), 1 event(s) verified\n"]);
  };
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
    const copy = copyOf(await bootstrapped());
    const before = snapshot(copy);
    expect(before.beside).toEqual(["store.db"]);
    await verifyOk(copy);
    expect(snapshot(copy)).toEqual(before);
  });

  it("verifies a copy alone against a checkpoint taken earlier: public keys are all it needs", async () => {
    const file = await bootstrapped();
    const taken = await run(["audit", "checkpoint", "--db", `sqlite:${file}`]);
    expect(taken.exitCode).toBe(0);
    const kept = join(mkdtempSync(join(tmpdir(), "tenant-mfa-checkpoint-")), "checkpoint.json");
    writeFileSync(kept, taken.stdout);
    const copy = copyOf(file);
    const before = snapshot(copy);
    const result = await run(["audit", "verify", "--db", `sqlite:${copy}`, "--checkpoint", kept]);
    expect([result.exitCode, result.stderr]).toEqual([0, ""]);
    expect(result.stdout).toContain("matching the checkpoint of platform at event");
    expect(snapshot(copy)).toEqual(before);
  });

  it("refuses a store migrated by a newer tenant-mfa, naming it, and leaves it as it was", async () => {
    const file = await bootstrapped();
    const raw = new Database(file);
    raw
      .prepare("insert into kysely_migration (name, timestamp) values (?, ?)")
      .run("9999-from-a-newer-version", new Date().toISOString());
    raw.close();
    const before = snapshot(file);
    const result = await run(["audit", "verify", "--db", `sqlite:${file}`]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("newer tenant-mfa (9999-from-a-newer-version)");
    expect(snapshot(file)).toEqual(before);
  });

  it("verifies a current store, and leaves its file as it was", async () => {
    const file = await bootstrapped();
    const before = snapshot(file);
    await verifyOk(file);
    expect(snapshot(file)).toEqual(before);
  });

  /** A store with two events on the platform chain: two platform administrator keys. */
  async function storeWithTwoEvents(): Promise<string> {
    const file = newFile();
    expect((await run(["bootstrap", "--db", `sqlite:${file}`])).exitCode).toBe(0);
    expect((await run(["bootstrap", "--db", `sqlite:${file}`, "--force"])).exitCode).toBe(0);
    return file;
  }

  /** An auditor's copy made with VACUUM INTO (as `.dump | sqlite3` would): rollback journal. */
  function vacuumedCopy(file: string): string {
    const copy = newFile();
    const source = new Database(file, { readonly: true });
    source.exec(`vacuum into '${copy}'`);
    source.close();
    return copy;
  }

  /** The journal mode the file's header records: bytes 18 and 19 are 1 (rollback) or 2 (WAL). */
  const journalOf = (file: string) => {
    const raw = new Database(file, { readonly: true });
    const mode = raw.pragma("journal_mode", { simple: true }) as string;
    raw.close();
    const header = readFileSync(file);
    return { mode, header: [header[18], header[19]] };
  };

  it("verifies a rollback-journal copy, leaving its bytes and journal mode as they were", async () => {
    const copy = vacuumedCopy(await storeWithTwoEvents());
    const before = snapshot(copy);
    expect(journalOf(copy)).toEqual({ mode: "delete", header: [1, 1] });
    const result = await run(["audit", "verify", "--db", `sqlite:${copy}`]);
    expect([result.exitCode, result.stdout]).toEqual([0, "ok: 1 chain(s), 2 event(s) verified\n"]);
    expect(snapshot(copy)).toEqual(before);
    expect(journalOf(copy)).toEqual({ mode: "delete", header: [1, 1] });
    // Not even SQLite's own files: a rollback-journal reader makes no -wal or -shm.
    expect(readdirSync(join(copy, ".."))).toEqual(["store.db"]);
  });

  it("finds a tampered event in a rollback-journal copy, leaving the copy as it was", async () => {
    const copy = vacuumedCopy(await storeWithTwoEvents());
    const tamper = new Database(copy);
    tamper.prepare("update audit_events set actor = 'someone-else' where seq = 2").run();
    tamper.close();
    const before = snapshot(copy);
    const result = await run(["audit", "verify", "--db", `sqlite:${copy}`]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^BROKEN: chain \S+, event 2: hash_mismatch\n/);
    expect(result.stdout).toContain("(1 event(s) verified before the first broken link)");
    expect(snapshot(copy)).toEqual(before);
    expect(journalOf(copy)).toEqual({ mode: "delete", header: [1, 1] });
  });

  it("finds a tampered event kept in a copied WAL, checkpointing nothing into the file", async () => {
    const file = await storeWithTwoEvents();
    // A live store copied with its WAL: the change is in store.db-wal, not yet in store.db.
    const live = new Database(file);
    live.pragma("wal_autocheckpoint = 0");
    live.prepare("update audit_events set actor = 'someone-else' where seq = 2").run();
    const copy = newFile();
    copyFileSync(file, copy);
    copyFileSync(`${file}-wal`, `${copy}-wal`);
    live.close();
    const before = { file: readFileSync(copy), wal: readFileSync(`${copy}-wal`) };
    const result = await run(["audit", "verify", "--db", `sqlite:${copy}`]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^BROKEN: chain \S+, event 2: hash_mismatch\n/);
    expect({ file: readFileSync(copy), wal: readFileSync(`${copy}-wal`) }).toEqual(before);
  });

  // Run as root (as in CI's containers), the file's mode is not enforced: what this then pins is
  // that verification asks for nothing but reading, which `openApplication`'s read-only store
  // below shows the database itself enforces.
  it("verifies a copy the file system write-protects (mode 0444)", async () => {
    const copy = copyOf(await bootstrapped());
    chmodSync(copy, 0o444);
    const before = snapshot(copy);
    await verifyOk(copy);
    expect(snapshot(copy)).toEqual(before);
  });

  it("opens the application read-only: the database refuses its writes", async () => {
    const file = await bootstrapped();
    const before = snapshot(file);
    await expectWritesRefused(`sqlite:${file}`);
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
      database = await createTestDatabase({ empty: true });
      expectRefusedAsBehind(await run(["audit", "verify", "--db", database.url]));
      expect(await schemaOf(database.url)).toEqual({ tables: [], applied: [] });
    });

    it("refuses a partly migrated database, and leaves its schema and migrations as they were", async () => {
      database = await createTestDatabase({ empty: true });
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

    /**
     * Rows inserted, updated and deleted in the database's tables, once every connection of
     * tenant-mfa to it has ended: a backend reports its counts to the statistics before it leaves
     * pg_stat_activity.
     */
    async function rowsWritten({ name, url }: TestDatabase): Promise<number> {
      for (let wait = 0; (await countConnections(name, "tenant-mfa")) > 0; wait += 1) {
        if (wait > 100) throw new Error("tenant-mfa's connections did not end");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const db = createPostgresKysely(url);
      try {
        const { rows } = await sql<{ written: string }>`
          select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) as written
          from pg_stat_user_tables`.execute(db);
        return Number(rows[0]?.written);
      } finally {
        await db.destroy();
      }
    }

    it("verifies a current database, writing no row", async () => {
      database = await createTestDatabase();
      const written = await rowsWritten(database);
      expect((await run(["bootstrap", "--db", database.url])).exitCode).toBe(0);
      const afterBootstrap = await rowsWritten(database);
      // The measure sees writes: bootstrap's key, audit event and head.
      expect(afterBootstrap).toBeGreaterThan(written);
      const result = await run(["audit", "verify", "--db", database.url]);
      expect([result.exitCode, result.stdout]).toEqual([
        0,
        "ok: 1 chain(s), 1 event(s) verified\n",
      ]);
      expect(await rowsWritten(database)).toBe(afterBootstrap);
    });

    it("opens the application read-only: the database refuses its writes", async () => {
      database = await createTestDatabase();
      expect((await run(["bootstrap", "--db", database.url])).exitCode).toBe(0);
      await expectWritesRefused(database.url);
    });
  },
);
