/**
 * A store given by a symbolic link (`--db sqlite:/srv/tenant-mfa.db`, a link into a data volume)
 * lives where the link points: SQLite resolves the link, and its -wal file is beside the file the
 * link names. A restore through the link renamed the restored copy over the link itself, so the
 * data left the volume (for a folder the next deployment may not keep), the link was kept as
 * `.replaced-…` and the store it named stayed in the volume, no longer used. The restore puts the
 * backup where the link points and leaves the link as it was.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { Caller } from "../app/application.js";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication } from "../main.js";
import { runCli } from "./test-support/run-cli.js";

const ADMIN: Caller = { id: "test", name: "test", roles: ["platform_admin"], tenants: "all" };

function tenantsIn(path: string): string[] {
  const db = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT id FROM tenants ORDER BY id").pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** A store in `volume`, reached by the link `link`, backed up with one tenant, then given two. */
async function linkedStoreBackedUp(volume: string, link: string, linkTarget: string) {
  mkdirSync(volume, { recursive: true });
  symlinkSync(linkTarget, link);
  const db = `sqlite:${link}`;
  const app = await openApplication({ db, exemptions: DEFAULT_SETTINGS.exemptions });
  await app.app.tenants.create(ADMIN, { id: "t0", name: "Tenant 0" });
  const backup = join(volume, "..", "backup.db");
  const backedUp = await runCli(["backup", "--db", db, "--to", backup]);
  expect(backedUp.exitCode, backedUp.stderr).toBe(0);
  await app.app.tenants.create(ADMIN, { id: "t1", name: "After the backup" });
  await app.close();
  return { db, backup };
}

describe("restore of a store given by a symbolic link", () => {
  it.each([
    ["an absolute link", (volume: string) => join(volume, "store.db")],
    ["a relative link", () => join("volume", "store.db")],
  ])("puts the backup where %s points, and keeps the link", async (_name, linkTarget) => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-restore-link-"));
    const volume = join(folder, "volume");
    const real = join(volume, "store.db");
    const link = join(folder, "tenant-mfa.db");
    const { db, backup } = await linkedStoreBackedUp(volume, link, linkTarget(volume));

    const result = await runCli(["restore", "--db", db, "--from", backup]);
    expect(result.exitCode, result.stderr).toBe(0);

    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(linkTarget(volume));
    expect(tenantsIn(real)).toEqual(["t0"]);
    const kept = readdirSync(volume).filter((name) => name.startsWith("store.db.replaced-"));
    expect(kept).toHaveLength(1);
    expect(tenantsIn(join(volume, kept[0] ?? ""))).toEqual(["t0", "t1"]);
    expect(readdirSync(folder).filter((name) => name.includes("replaced"))).toEqual([]);
    expect(result.stdout).toContain(
      `The store it replaced is kept at ${join(volume, kept[0] ?? "")}.`,
    );
    expect(result.stdout).toContain(`to ${db} (the file it links to, ${real}):`);

    // The server, through the link, serves the restored store.
    const reopened = await openApplication({ db, exemptions: DEFAULT_SETTINGS.exemptions });
    try {
      expect((await reopened.app.tenants.list(ADMIN, {})).items.map((t) => t.id)).toEqual(["t0"]);
    } finally {
      await reopened.close();
    }
  });

  it("refuses a loop of links, changing nothing", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-restore-link-"));
    const { backup } = await linkedStoreBackedUp(
      join(folder, "old"),
      join(folder, "old.db"),
      join(folder, "old", "store.db"),
    );
    symlinkSync(join(folder, "b.db"), join(folder, "a.db"));
    symlinkSync(join(folder, "a.db"), join(folder, "b.db"));
    const result = await runCli([
      "restore",
      "--db",
      `sqlite:${join(folder, "a.db")}`,
      "--from",
      backup,
    ]);
    expect(result.stderr).toContain("is a loop of symbolic links");
    expect(result.exitCode).toBe(2);
    expect(readlinkSync(join(folder, "a.db"))).toBe(join(folder, "b.db"));
  });

  it("restores through a link whose store is not there yet, where SQLite would make it", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-restore-link-"));
    const { backup } = await linkedStoreBackedUp(
      join(folder, "old"),
      join(folder, "old.db"),
      join(folder, "old", "store.db"),
    );
    const real = join(folder, "volume", "store.db");
    const link = join(folder, "tenant-mfa.db");
    mkdirSync(join(folder, "volume"));
    symlinkSync(real, link);

    const result = await runCli(["restore", "--db", `sqlite:${link}`, "--from", backup]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(tenantsIn(real)).toEqual(["t0"]);
    expect(result.stdout).toContain("No store was there before.");
    expect(existsSync(`${real}-wal`)).toBe(false);
  });
});
