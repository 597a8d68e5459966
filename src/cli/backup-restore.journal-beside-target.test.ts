/**
 * Threat: a copy put where another database's log is. SQLite applies the -wal or -journal file
 * beside a database to it when it is next opened, whatever database wrote them
 * (https://www.sqlite.org/howtocorrupt.html, §2): a server killed with commits in its WAL, or a
 * rollback journal left by a crash, turns a restored store or a backup written under that name
 * into a mix of two databases, or a damaged one. `restore` onto a path whose store is gone but
 * whose log is still there, and `backup` to a file beside which such a log is, are refused, and
 * nothing is written at the target.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { Caller } from "../app/application.js";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication } from "../main.js";
import { runCli } from "./test-support/run-cli.js";

const require = createRequire(import.meta.url);
const ADMIN: Caller = { id: "test", name: "test", roles: ["platform_admin"], tenants: "all" };

/** A closed store of one tenant in a folder of its own, and a backup of it in another. */
async function storeAndBackup() {
  const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-journal-"));
  const path = join(folder, "store.db");
  const app = await openApplication({
    db: `sqlite:${path}`,
    exemptions: DEFAULT_SETTINGS.exemptions,
  });
  await app.app.tenants.create(ADMIN, { id: "t0", name: "Tenant 0" });
  await app.close();
  const backup = join(mkdtempSync(join(tmpdir(), "tenant-mfa-backups-")), "backup.db");
  expect((await runCli(["backup", "--db", `sqlite:${path}`, "--to", backup])).exitCode).toBe(0);
  return { folder, path, db: `sqlite:${path}`, backup };
}

/**
 * Runs `statements` on the SQLite file at `path` in a process that is killed (SIGKILL) before
 * it closes: in WAL mode its commits stay in the -wal file; in rollback mode, an open
 * transaction that outgrew the page cache leaves a hot -journal.
 */
async function crashAfter(path: string, statements: string): Promise<void> {
  const crash = spawn(process.execPath, [
    "-e",
    `const Sqlite = require(${JSON.stringify(require.resolve("better-sqlite3"))});
     const db = new Sqlite(${JSON.stringify(path)});
     db.exec(${JSON.stringify(statements)});
     process.kill(process.pid, "SIGKILL");`,
  ]);
  await new Promise((resolve) => crash.on("close", resolve));
}

function tenantNames(path: string): string[] {
  const db = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare("SELECT name FROM tenants ORDER BY id")
      .pluck()
      .all()
      .map((name) => String(name));
  } finally {
    db.close();
  }
}

describe("restore onto a path whose store is gone but whose log is not", () => {
  it("refuses a crashed server's -wal file there, and writes nothing", async () => {
    const store = await storeAndBackup();
    await crashAfter(
      store.path,
      "PRAGMA wal_autocheckpoint = 0; UPDATE tenants SET name = 'renamed before the crash'",
    );
    // The damaged store moved out of the way by hand, its -wal left behind.
    renameSync(store.path, join(store.folder, "damaged.db"));
    const wal = readFileSync(`${store.path}-wal`);
    expect(wal.length).toBeGreaterThan(0);

    const result = await runCli(["restore", "--db", store.db, "--from", store.backup]);
    expect(result.stderr).toContain(`${store.path}-wal is beside ${store.path}`);
    expect(result.stderr).toContain("SQLite would apply");
    expect(result.exitCode).toBe(2);
    expect(existsSync(store.path)).toBe(false);
    expect(readFileSync(`${store.path}-wal`)).toEqual(wal);
    expect(readdirSync(store.folder).filter((name) => name.includes("partial"))).toEqual([]);
  });

  it("refuses a crashed transaction's hot -journal file there", async () => {
    const store = await storeAndBackup();
    // A transaction larger than a one-page cache spills to the file, the originals journalled.
    await crashAfter(
      store.path,
      `PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1; BEGIN;
       UPDATE tenants SET name = 'in a transaction never committed';
       CREATE TABLE filler (bytes BLOB);
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
         INSERT INTO filler SELECT randomblob(2000) FROM n;`,
    );
    renameSync(store.path, join(store.folder, "damaged.db"));
    expect(statSync(`${store.path}-journal`).size).toBeGreaterThan(0);

    const result = await runCli(["restore", "--db", store.db, "--from", store.backup]);
    expect(result.stderr).toContain(`${store.path}-journal is beside ${store.path}`);
    expect(result.exitCode).toBe(2);
    expect(existsSync(store.path)).toBe(false);
  });
});

describe("backup to a file beside which a log is", () => {
  it("refuses, even with --force, and leaves the file and its log as they were", async () => {
    const store = await storeAndBackup();
    const copy = store.backup;
    // A restore drill: a server ran on the copy, and was killed with commits in its WAL.
    await crashAfter(
      copy,
      "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; UPDATE tenants SET name = 'the drill''s edit'",
    );
    const before = { copy: readFileSync(copy), wal: readFileSync(`${copy}-wal`) };

    const result = await runCli(["backup", "--db", store.db, "--to", copy, "--force"]);
    expect(result.stderr).toContain(`${copy}-wal is beside ${copy}`);
    expect(result.exitCode).toBe(2);
    expect({ copy: readFileSync(copy), wal: readFileSync(`${copy}-wal`) }).toEqual(before);
    // The drill's copy still reads as it was, its log applied to it and to nothing else.
    expect(tenantNames(copy)).toEqual(["the drill's edit"]);
  });
});
