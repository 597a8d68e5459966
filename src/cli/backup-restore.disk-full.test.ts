/**
 * A backup or restore onto a disk too full for the copy: it ended with SQLite's own words
 * ("database or disk is full"), naming neither the folder nor what became of the copy and the
 * store. It names the folder with no room, removes what it wrote, and leaves the store as it was.
 * A small tmpfs is the full disk, which only root may mount.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { asRoot, runCli } from "./test-support/run-cli.js";

const mounted: string[] = [];
afterEach(() => {
  for (const folder of mounted.splice(0)) execFileSync("umount", [folder]);
});

/** A folder on a disk of `size` (tmpfs's units), where a new store takes about 300 KiB. */
function smallDisk(root: string, size: string): string {
  const folder = join(root, "small-disk");
  mkdirSync(folder);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", folder]);
  mounted.push(folder);
  return folder;
}

/** What the store at `path` holds that a restore would change, and whether SQLite finds it whole. */
function storeAt(path: string) {
  const db = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    return {
      integrity: db.pragma("integrity_check", { simple: true }),
      apiKeys: db.prepare("SELECT id FROM api_keys ORDER BY id").pluck().all(),
      auditEvents: db.prepare("SELECT count(*) FROM audit_events").pluck().get(),
    };
  } finally {
    db.close();
  }
}

describe("a copy onto a full disk", () => {
  it.skipIf(!asRoot)(
    "backup names the folder with no room and leaves nothing there (skipped unless root, which alone may mount a small disk)",
    async () => {
      const root = mkdtempSync(join(tmpdir(), "tenant-mfa-disk-full-"));
      const store = `sqlite:${join(root, "store.db")}`;
      expect((await runCli(["migrate", "--db", store])).exitCode).toBe(0);
      const full = smallDisk(root, "64k");

      const result = await runCli(["backup", "--db", store, "--to", join(full, "backup.db")]);
      expect(result.stderr).toContain(
        `no room in ${full} for the copy: the disk is full (nothing was left there)`,
      );
      expect(result.exitCode).toBe(1);
      expect(readdirSync(full)).toEqual([]);
    },
  );

  it.skipIf(!asRoot)(
    "restore names the folder with no room and leaves the store there as it was (skipped unless root, which alone may mount a small disk)",
    async () => {
      const root = mkdtempSync(join(tmpdir(), "tenant-mfa-disk-full-"));
      const backup = join(root, "backup.db");
      expect((await runCli(["migrate", "--db", `sqlite:${backup}`])).exitCode).toBe(0);
      // Room for the store, not for a copy beside it.
      const full = smallDisk(root, "448k");
      const store = join(full, "store.db");
      expect((await runCli(["bootstrap", "--db", `sqlite:${store}`])).exitCode).toBe(0);
      const before = { files: readdirSync(full).sort(), store: storeAt(store) };
      expect(before.store.apiKeys).toHaveLength(1);

      const result = await runCli(["restore", "--db", `sqlite:${store}`, "--from", backup]);
      // Folding the store's WAL into it, before any copy, already needs room.
      expect(result.stderr).toContain(
        `no room in ${full} to fold the store's WAL into it before it is set aside: the disk is full (the store is as it was)`,
      );
      expect(result.exitCode).toBe(1);
      expect({ files: readdirSync(full).sort(), store: storeAt(store) }).toEqual(before);
    },
  );
});
