// Threat: a store opened to be read (`audit verify`) changing what it reads. `openStore` with
// `readOnly` must open a connection the database itself keeps from writing: no migration, no
// journal-mode switch, no WAL checkpoint, and every write refused (SQLITE_READONLY, or
// PostgreSQL's read_only_sql_transaction), so that no code path above it can alter the evidence.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { postgresUnreachable, describeOnPostgres } from "../app/test-support/postgres-instances.js";
import { openStore } from "./open-store.js";
import { createTestDatabase, type TestDatabase } from "./postgres/test-support/test-database.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const tenant = { id: "acme", name: "Acme", createdAt: "2025-01-01T00:00:00.000Z", returnUrls: [] };

describe("openStore read-only on SQLite", () => {
  const newFile = () => join(mkdtempSync(join(tmpdir(), "tenant-mfa-open-ro-")), "store.db");

  /** A migrated store holding one tenant, copied with VACUUM INTO: a rollback-journal file. */
  async function rollbackJournalCopy(): Promise<string> {
    const file = newFile();
    const store = await openStore(`sqlite:${file}`);
    await store.transaction((r) => r.tenants.insert(tenant));
    await store.close();
    const copy = newFile();
    const source = new Database(file, { readonly: true });
    source.exec(`vacuum into '${copy}'`);
    source.close();
    return copy;
  }

  it("reads, refuses every write, and leaves the file and its journal mode as they were", async () => {
    const copy = await rollbackJournalCopy();
    const before = readFileSync(copy);
    const store = await openStore(`sqlite:${copy}`, { readOnly: true });
    try {
      await expect(store.read((r) => r.tenants.get("acme"))).resolves.toEqual(tenant);
      await expect(store.transaction((r) => r.tenants.get("acme"))).resolves.toEqual(tenant);
      await expect(
        store.transaction((r) => r.tenants.insert({ ...tenant, id: "other" })),
      ).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_READONLY/) as unknown });
    } finally {
      await store.close();
    }
    expect(readFileSync(copy).equals(before)).toBe(true);
    expect(existsSync(`${copy}-wal`)).toBe(false);
  });

  it("creates no missing file", async () => {
    const file = newFile();
    await expect(openStore(`sqlite:${file}`, { readOnly: true })).rejects.toThrow();
    expect(existsSync(file)).toBe(false);
  });

  it("refuses an in-memory store, which would be new and empty", async () => {
    await expect(openStore("sqlite::memory:", { readOnly: true })).rejects.toThrow(/in-memory/);
  });
});

describeOnPostgres(
  {
    title: "openStore read-only on PostgreSQL",
    skippedTitle: "openStore read-only on PostgreSQL",
    tests: "read-only store tests on PostgreSQL",
  },
  () => {
    let database: TestDatabase | undefined;
    afterEach(async () => {
      await database?.drop();
      database = undefined;
    });

    beforeAll(() => {
      if (postgresUnreachable !== undefined)
        throw new Error(`PostgreSQL unreachable in CI: ${postgresUnreachable}`);
    });

    it("migrates nothing", async () => {
      database = await createTestDatabase({ empty: true });
      const store = await openStore(database.url, { readOnly: true });
      await store.close();
      const check = new pg.Client({ connectionString: database.url });
      await check.connect();
      try {
        const tables = await check.query(
          "select table_name from information_schema.tables where table_schema = 'public'",
        );
        expect(tables.rows).toEqual([]);
      } finally {
        await check.end();
      }
    });

    it("reads and refuses every write", async () => {
      database = await createTestDatabase();
      const writable = await openStore(database.url);
      await writable.transaction((r) => r.tenants.insert(tenant));
      await writable.close();
      const store = await openStore(database.url, { readOnly: true });
      try {
        await expect(store.read((r) => r.tenants.get("acme"))).resolves.toEqual(tenant);
        await expect(
          store.transaction((r) => r.tenants.insert({ ...tenant, id: "other" })),
        ).rejects.toMatchObject({ code: "25006" });
      } finally {
        await store.close();
      }
    });
  },
);
