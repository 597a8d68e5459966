/**
 * Threat: a restore that fails half-way leaves no store at the store's path. The copy of a
 * backup is as long as the backup and can fail (the disk full or failing, an fsync's EIO); a
 * restore that set the store aside before copying left the path empty, and a server started
 * then (by hand, or restarted by its supervisor) makes a new, empty store there and serves from
 * it. The copy is made and checked beside the store first; the store is set aside only once it
 * is, so a failed copy leaves the store where and as it was.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Caller } from "../../app/application.js";
import { DEFAULT_SETTINGS } from "../../app/context.js";
import { openApplication } from "../../main.js";
import { backUpSqliteStore } from "./back-up-sqlite-store.js";
import { restoreSqliteStore } from "./restore-sqlite-store.js";

/** Fails the flush of a temporary copy while set: the disk refusing to keep what was written. */
const failing = vi.hoisted(() => ({ fsyncOfCopies: false }));
vi.mock("node:fs", async (importOriginal) => {
  const { fsyncObserved } = await import("../test-support/fsync-observed.js");
  return fsyncObserved(await importOriginal<typeof import("node:fs")>(), (path) => {
    if (failing.fsyncOfCopies && path.endsWith(".partial")) {
      throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
    }
  });
});

afterEach(() => {
  failing.fsyncOfCopies = false;
});

const ADMIN: Caller = { id: "test", name: "test", roles: ["platform_admin"], tenants: "all" };

function tenantsIn(path: string): string[] {
  const db = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare("SELECT id FROM tenants ORDER BY id")
      .pluck()
      .all()
      .map((id) => String(id));
  } finally {
    db.close();
  }
}

describe("a restore whose copy fails", () => {
  it("leaves the store at its path as it was, and nothing beside it", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-restore-fails-"));
    const store = join(folder, "store.db");
    const app = await openApplication({
      db: `sqlite:${store}`,
      exemptions: DEFAULT_SETTINGS.exemptions,
    });
    await app.app.tenants.create(ADMIN, { id: "t0", name: "Tenant 0" });
    const backup = join(mkdtempSync(join(tmpdir(), "tenant-mfa-backups-")), "backup.db");
    backUpSqliteStore(store, backup, { now: new Date() });
    await app.app.tenants.create(ADMIN, { id: "t1", name: "After the backup" });
    await app.close();
    const before = readdirSync(folder).sort();

    failing.fsyncOfCopies = true;
    expect(() => restoreSqliteStore(backup, store, { now: new Date() })).toThrow(/EIO/);

    expect(readdirSync(folder).sort()).toEqual(before);
    expect(tenantsIn(store)).toEqual(["t0", "t1"]);
  });
});
