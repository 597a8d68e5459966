/**
 * Threat: losing the embedded store's data, or getting back a copy that is not what it was. A
 * SQLite file copied while the server writes (or without its -wal file) can be torn or miss the
 * last commits, and a restore that leaves the old -wal file beside the copy has SQLite apply
 * another database's pages to it. `tenant-mfa backup` copies one snapshot of a store in use,
 * checked, for its owner only, written under its name only once whole; `tenant-mfa restore`
 * refuses a store some process has open and a backup it cannot trust, and never deletes the
 * store it replaces.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import {
  existsSync,
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Sqlite from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Caller } from "../app/application.js";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication, type OpenedApplication } from "../main.js";
import { runCli } from "./test-support/run-cli.js";

const exemptions = DEFAULT_SETTINGS.exemptions;
const require = createRequire(import.meta.url);
const ADMIN: Caller = { id: "test", name: "test", roles: ["platform_admin"], tenants: "all" };
const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

const opened: OpenedApplication[] = [];
afterEach(async () => {
  for (const app of opened.splice(0)) await app.close();
});

function folder(): string {
  return mkdtempSync(join(tmpdir(), "tenant-mfa-backup-"));
}

/** A store at `<folder>/store.db` with tenants `t0`…, left open (the server's state). */
async function storeWithTenants(count: number, at = folder()) {
  const path = join(at, "store.db");
  const app = await openApplication({ db: `sqlite:${path}`, exemptions });
  opened.push(app);
  for (let i = 0; i < count; i++) {
    await app.app.tenants.create(ADMIN, { id: `t${String(i)}`, name: `Tenant ${String(i)}` });
  }
  return { path, db: `sqlite:${path}`, folder: at, app };
}

/** What a SQLite file holds, read directly. */
function countOf(path: string, table: string): number {
  const db = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    return Number(db.prepare(`SELECT count(*) FROM ${table}`).pluck().get());
  } finally {
    db.close();
  }
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** `tenant-mfa ARGS` in a process of its own, as an operator's terminal or cron runs it. */
function runCliProcess(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [main, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, output });
    });
  });
}

describe("tenant-mfa backup", () => {
  it(
    "copies one consistent snapshot of a store that a server keeps writing to",
    async () => {
      const store = await storeWithTenants(1);
      const target = join(folder(), "copy.db");
      const before = countOf(store.path, "audit_events");
      // The server's writes go on, each committed, all the while the backup runs in its process.
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await store.app.app.principals.upsert(ADMIN, "t0", `p${String(written)}`, {
            population: "direct",
          });
          written++;
        }
      })();
      const backup = await runCliProcess(["backup", "--db", store.db, "--to", target]);
      writing = false;
      await writer;
      expect(backup.output).toMatch(/^Backed up sqlite:.* to .*copy\.db: \d+ bytes, schema 00/m);
      expect(backup.code, backup.output).toBe(0);
      const after = countOf(store.path, "audit_events");
      const copied = countOf(target, "audit_events");
      // A snapshot taken while the writes went on: some of them, not all.
      expect(written).toBeGreaterThan(0);
      expect(copied).toBeGreaterThan(before);
      expect(copied).toBeLessThan(after);
      // Every principal in the copy has its audit event, and the chain with its head links up.
      expect(countOf(target, "principals")).toBe(copied - before);
      const verified = await runCli(["audit", "verify", "--db", `sqlite:${target}`]);
      expect(verified.stdout).toContain(`ok: 2 chain(s), ${String(copied)} event(s) verified`);
      expect(verified.exitCode).toBe(0);
      expect(modeOf(target)).toBe(0o600);
    },
    // The backup's process compiles the CLI with tsx first: seconds on a busy machine.
    90_000,
  );

  it("writes into a folder a file named by the time, and says what the copy holds", async () => {
    const store = await storeWithTenants(2);
    const into = folder();
    const result = await runCli(["backup", "--db", store.db, "--to", into]);
    expect(result.exitCode, result.stderr).toBe(0);
    const written = readdirSync(into);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^tenant-mfa-\d{8}T\d{6}Z\.db$/);
    const copy = join(into, written[0] ?? "");
    expect(result.stdout).toContain(
      `to ${copy}: ${String(statSync(copy).size)} bytes, schema 0026-webauthn-clone-suspected, 2 tenant(s), 4 audit event(s), 0 receipt(s).`,
    );
    // The key that opens its secrets is not in it, and the operator is told where it is.
    expect(result.stdout).toContain(
      `sealed with the key in ${join(store.folder, "encryption-key.json")}`,
    );
    expect(result.stdout).toContain(`Check it with: tenant-mfa audit verify --db sqlite:${copy}`);
    expect(modeOf(copy)).toBe(0o600);
  });

  it("leaves a file at the target as it was, unless told to replace it", async () => {
    const store = await storeWithTenants(1);
    const target = join(folder(), "copy.db");
    writeFileSync(target, "yesterday's backup");
    const refused = await runCli(["backup", "--db", store.db, "--to", target]);
    expect(refused.stderr).toContain(`${target} exists: give another --to, or --force`);
    expect(refused.exitCode).toBe(2);
    expect(readFileSync(target, "utf8")).toBe("yesterday's backup");
    expect(readdirSync(join(target, ".."))).toEqual(["copy.db"]);

    const replaced = await runCli(["backup", "--db", store.db, "--to", target, "--force"]);
    expect(replaced.exitCode, replaced.stderr).toBe(0);
    expect(countOf(target, "tenants")).toBe(1);
    expect(readdirSync(join(target, ".."))).toEqual(["copy.db"]);
  });

  it("refuses to write over the store or a file SQLite keeps beside it, however named", async () => {
    const store = await storeWithTenants(1);
    const alias = join(folder(), "alias");
    symlinkSync(store.folder, alias);
    const hardLink = join(folder(), "hard-link.db");
    linkSync(store.path, hardLink);
    for (const target of [
      store.path,
      `${store.path}-wal`,
      `${store.path}-shm`,
      join(alias, "store.db"),
      join(store.folder, "..", store.folder.split("/").at(-1) ?? "", "store.db"),
    ]) {
      const result = await runCli(["backup", "--db", store.db, "--to", target, "--force"]);
      expect(result.stderr, target).toContain("is the store itself");
      expect(result.exitCode).toBe(2);
    }
    const linked = await runCli(["backup", "--db", store.db, "--to", hardLink, "--force"]);
    expect(linked.stderr).toContain("is the store itself");
    expect(countOf(store.path, "tenants")).toBe(1);
  });

  it("names what it cannot back up: a PostgreSQL or in-memory store, a missing or foreign file, a missing folder", async () => {
    const at = folder();
    const cases: [string[], RegExp][] = [
      [
        ["--db", "postgres://postgres@127.0.0.1:5432/test"],
        /backup copies a SQLite store; use pg_dump for a PostgreSQL store/,
      ],
      [["--db", "sqlite::memory:"], /an in-memory store ends with its process/],
      [["--db", `sqlite:${join(at, "missing.db")}`], /no store at .*missing\.db/],
    ];
    const empty = join(at, "empty.db");
    new Sqlite(empty).close();
    cases.push([["--db", `sqlite:${empty}`], /no tenant-mfa store in sqlite:.*empty\.db/]);
    const store = await storeWithTenants(1);
    cases.push([
      ["--db", store.db, "--to", join(at, "no-such-folder", "copy.db")],
      /cannot write the backup in .*no-such-folder: ENOENT/,
    ]);
    for (const [args, message] of cases) {
      const to = args.includes("--to") ? [] : ["--to", join(at, "copy.db")];
      const result = await runCli(["backup", ...args, ...to]);
      expect(result.stderr).toMatch(message);
      expect(result.exitCode).toBe(2);
    }
    expect(readdirSync(at).sort()).toEqual(["empty.db"]);
  });

  it("backs up a store that this version has not migrated yet, as it stands", async () => {
    const store = await storeWithTenants(1);
    await store.app.close();
    opened.length = 0;
    const db = new Sqlite(store.path);
    db.prepare("DELETE FROM kysely_migration WHERE name = ?").run("0026-webauthn-clone-suspected");
    db.close();
    const target = join(folder(), "before-upgrade.db");
    const result = await runCli(["backup", "--db", store.db, "--to", target]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("schema 0025-principal-idp-issuer");
  });
});

describe("tenant-mfa restore", () => {
  /** A backup of a store of one tenant, and the store, which goes on to a second tenant. */
  async function backupThenMore() {
    const store = await storeWithTenants(1);
    const backup = join(folder(), "backup.db");
    expect((await runCli(["backup", "--db", store.db, "--to", backup])).exitCode).toBe(0);
    await store.app.app.tenants.create(ADMIN, { id: "later", name: "After the backup" });
    return { store, backup };
  }

  it("refuses while a server has the store open, and changes nothing", async () => {
    const { store, backup } = await backupThenMore();
    const result = await runCli(["restore", "--db", store.db, "--from", backup]);
    expect(result.stderr).toContain(`${store.path} is in use`);
    expect(result.exitCode).toBe(2);
    expect(readdirSync(store.folder).filter((name) => name.includes("replaced"))).toEqual([]);
    // The server goes on as it was.
    await store.app.app.tenants.create(ADMIN, { id: "still", name: "Still serving" });
    expect(countOf(store.path, "tenants")).toBe(3);
  });

  it("puts the backup in place and keeps the store it replaced whole, its WAL folded in", async () => {
    const { store, backup } = await backupThenMore();
    await store.app.close();
    opened.length = 0;
    const result = await runCli(["restore", "--db", store.db, "--from", backup]);
    expect(result.exitCode, result.stderr).toBe(0);
    const kept = readdirSync(store.folder).find((name) => name.startsWith("store.db.replaced-"));
    expect(kept).toMatch(/^store\.db\.replaced-\d{8}T\d{6}Z$/);
    // The replaced store is one file that holds everything, the tenant after the backup too.
    expect(readdirSync(store.folder).filter((name) => name.startsWith(`${kept ?? ""}-`))).toEqual(
      [],
    );
    expect(countOf(join(store.folder, kept ?? ""), "tenants")).toBe(2);
    // The restored store is the backup, with no other database's -wal file beside it.
    expect(existsSync(`${store.path}-wal`)).toBe(false);
    expect(countOf(store.path, "tenants")).toBe(1);
    expect(modeOf(store.path)).toBe(0o600);
    expect(result.stdout).toContain(
      `The store it replaced is kept at ${join(store.folder, kept ?? "")}.`,
    );
    expect(result.stdout).toContain("API keys revoked, authenticators removed");
    expect(result.stdout).toContain(
      `must be at ${join(store.folder, "encryption-key.json")} (a key file is there`,
    );
    // It serves, and its chains verify.
    const verified = await runCli(["audit", "verify", "--db", store.db]);
    expect(verified.exitCode, verified.stdout).toBe(0);
    const reopened = await openApplication({ db: store.db, exemptions });
    opened.push(reopened);
    expect((await reopened.app.tenants.list(ADMIN, {})).items.map((t) => t.id)).toEqual(["t0"]);
  });

  it("folds a crashed server's WAL into the store it keeps, never beside the restored one", async () => {
    const { store, backup } = await backupThenMore();
    await store.app.close();
    opened.length = 0;
    // A server that dies (SIGKILL) after a commit that no checkpoint has copied into the file.
    const crash = spawn(process.execPath, [
      "-e",
      `const Sqlite = require(${JSON.stringify(require.resolve("better-sqlite3"))});
       const db = new Sqlite(${JSON.stringify(store.path)});
       db.pragma("wal_autocheckpoint = 0");
       db.prepare("UPDATE tenants SET name = 'renamed before the crash'").run();
       process.kill(process.pid, "SIGKILL");`,
    ]);
    await new Promise((resolve) => crash.on("close", resolve));
    expect(statSync(`${store.path}-wal`).size).toBeGreaterThan(0);

    const result = await runCli(["restore", "--db", store.db, "--from", backup]);
    expect(result.exitCode, result.stderr).toBe(0);
    const kept = join(
      store.folder,
      readdirSync(store.folder).find((name) => name.startsWith("store.db.replaced-")) ?? "",
    );
    expect(existsSync(`${kept}-wal`)).toBe(false);
    const keptStore = new Sqlite(kept, { readonly: true });
    expect(keptStore.prepare("SELECT DISTINCT name FROM tenants").pluck().all()).toEqual([
      "renamed before the crash",
    ]);
    keptStore.close();
    expect(existsSync(`${store.path}-wal`)).toBe(false);
    const restored = new Sqlite(store.path, { readonly: true });
    expect(restored.prepare("SELECT name FROM tenants").pluck().all()).toEqual(["Tenant 0"]);
    restored.close();
  });

  it("restores onto a new machine's path, making its folder for its owner only", async () => {
    const { backup } = await backupThenMore();
    const fresh = join(folder(), "data");
    const path = join(fresh, "tenant-mfa.db");
    const result = await runCli(["restore", "--db", `sqlite:${path}`, "--from", backup]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("No store was there before.");
    expect(result.stdout).toContain("(none is there: the server refuses to start until it is)");
    expect(modeOf(fresh)).toBe(0o700);
    expect(modeOf(path)).toBe(0o600);
    expect(countOf(path, "tenants")).toBe(1);
  });

  it("sets aside a store SQLite cannot read at all, with its files as they are", async () => {
    const { store, backup } = await backupThenMore();
    await store.app.close();
    opened.length = 0;
    writeFileSync(store.path, "not a database any more".repeat(300));
    const result = await runCli(["restore", "--db", store.db, "--from", backup]);
    expect(result.exitCode, result.stderr).toBe(0);
    const kept = readdirSync(store.folder).find((name) => name.startsWith("store.db.replaced-"));
    expect(readFileSync(join(store.folder, kept ?? ""), "utf8")).toContain("not a database");
    expect(countOf(store.path, "tenants")).toBe(1);
  });

  it("refuses a backup it cannot trust, before anything changes", async () => {
    const { store } = await backupThenMore();
    await store.app.close();
    opened.length = 0;
    const at = folder();
    const foreign = join(at, "foreign.db");
    const notes = new Sqlite(foreign);
    notes.exec("CREATE TABLE notes (text TEXT)");
    notes.close();
    const text = join(at, "notes.txt");
    writeFileSync(text, "a shopping list, not a database ".repeat(200));
    const newer = join(at, "newer.db");
    expect((await runCli(["backup", "--db", store.db, "--to", newer])).exitCode).toBe(0);
    const upgraded = new Sqlite(newer);
    upgraded
      .prepare("INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)")
      .run("0999-from-the-future", new Date(0).toISOString());
    upgraded.close();
    const damaged = join(at, "damaged.db");
    expect((await runCli(["backup", "--db", store.db, "--to", damaged])).exitCode).toBe(0);
    const bytes = readFileSync(damaged);
    // The headers of pages 2–5 (b-tree pages of tables and indexes) overwritten, as a failing
    // disk or a torn copy would leave them.
    for (let page = 1; page <= 4; page++) bytes.fill(0x5a, page * 4096, page * 4096 + 8);
    writeFileSync(damaged, bytes);

    const cases: [string, RegExp, number][] = [
      [join(at, "missing.db"), /no backup at .*missing\.db/, 2],
      [foreign, /holds no tenant-mfa store/, 2],
      [text, /is not a SQLite database/, 2],
      [
        newer,
        /migrated by a newer tenant-mfa \(0999-from-the-future\): restore it with that version/,
        2,
      ],
      [damaged, /damaged\.db fails SQLite's integrity check, so nothing was restored/, 1],
      [store.path, /is the store itself/, 2],
    ];
    for (const [from, message, exitCode] of cases) {
      const result = await runCli(["restore", "--db", store.db, "--from", from]);
      expect(result.stderr, from).toMatch(message);
      expect(result.exitCode, from).toBe(exitCode);
    }
    expect(readdirSync(store.folder).filter((name) => name.includes("replaced"))).toEqual([]);
    expect(countOf(store.path, "tenants")).toBe(2);
  });

  it("names the tool for a PostgreSQL store", async () => {
    const result = await runCli([
      "restore",
      "--db",
      "postgres://postgres@127.0.0.1:5432/test",
      "--from",
      join(folder(), "backup.db"),
    ]);
    expect(result.stderr).toContain("restore copies a SQLite store; use pg_restore");
    expect(result.exitCode).toBe(2);
  });
});
