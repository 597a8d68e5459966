/**
 * Property: `backup` and `restore` given a path they cannot use say so (exit 2) and change
 * nothing, instead of ending in an uncaught error (exit 1, an errno or SQLite's bare "disk I/O
 * error") that leaves the operator guessing whether the store was touched: a store path that is
 * a folder, or whose parent is a file; a `--to` naming a folder that does not exist; a store
 * that the user running the command may not change (not the server's user). Root ignores file
 * permissions, so that restore runs as `nobody`, in a process of its own.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { asRoot, runCli, runCliAsNobody } from "./test-support/run-cli.js";

function folder(): string {
  return mkdtempSync(join(tmpdir(), "tenant-mfa-paths-"));
}

/** A store (bootstrapped, closed) and a backup of it, each in a folder of its own. */
async function storeAndBackup() {
  const at = folder();
  const path = join(at, "store.db");
  expect((await runCli(["bootstrap", "--db", `sqlite:${path}`])).exitCode).toBe(0);
  const backup = join(folder(), "backup.db");
  expect((await runCli(["backup", "--db", `sqlite:${path}`, "--to", backup])).exitCode).toBe(0);
  return { folder: at, path, db: `sqlite:${path}`, backup };
}

describe("restore onto a path that cannot hold a store", () => {
  it("refuses a store path that is a folder, leaving it as it was", async () => {
    const { backup } = await storeAndBackup();
    const at = folder();
    const store = join(at, "store.db");
    mkdirSync(store);
    writeFileSync(join(store, "notes.txt"), "kept");
    const result = await runCli(["restore", "--db", `sqlite:${store}`, "--from", backup]);
    expect(result.stderr).toContain(`${store} is not a file`);
    expect(result.exitCode).toBe(2);
    expect(readdirSync(at)).toEqual(["store.db"]);
    expect(readdirSync(store)).toEqual(["notes.txt"]);
  });

  it("refuses a store path whose folder is a file", async () => {
    const { backup } = await storeAndBackup();
    const at = folder();
    writeFileSync(join(at, "data"), "a file where the folder should be");
    const store = join(at, "data", "store.db");
    const result = await runCli(["restore", "--db", `sqlite:${store}`, "--from", backup]);
    expect(result.stderr).toContain(`cannot make the store's folder ${join(at, "data")}`);
    expect(result.exitCode).toBe(2);
    expect(readdirSync(at)).toEqual(["data"]);
  });

  it.skipIf(!asRoot)(
    "refuses a store this user may not change, changing nothing (skipped unless root: it drops to nobody)",
    async () => {
      const store = await storeAndBackup();
      // The restore is run as another user than the store's: it may write the folder (and so
      // could make its copy there), and read the backup, but not open the store to change it.
      chmodSync(store.folder, 0o777);
      chmodSync(store.backup, 0o644);
      chmodSync(join(store.backup, ".."), 0o755);
      const before = { files: readdirSync(store.folder).sort(), bytes: readFileSync(store.path) };
      const result = runCliAsNobody(["restore", "--db", store.db, "--from", store.backup]);
      expect(result.stderr).toContain(`cannot take ${store.path} out of use to replace it`);
      expect(result.stderr).toContain("run restore as the user the server runs as");
      expect(result.status, result.stderr).toBe(2);
      expect({
        files: readdirSync(store.folder).sort(),
        bytes: readFileSync(store.path),
      }).toEqual(before);
    },
    // The child compiles the CLI with tsx before it runs: seconds on a busy machine.
    90_000,
  );
});

describe("backup to a folder that does not exist", () => {
  it("refuses a --to that names a folder (a trailing /) not there, before copying", async () => {
    const store = await storeAndBackup();
    const at = folder();
    const to = `${join(at, "nightly")}/`;
    const result = await runCli(["backup", "--db", store.db, "--to", to]);
    expect(result.stderr).toContain(`no folder at ${to}`);
    expect(result.exitCode).toBe(2);
    expect(readdirSync(at)).toEqual([]);
  });
});
