/**
 * Property: `restore` says why it cannot read the file given as `--from`, in the operator's
 * terms, instead of SQLite's: a folder ("disk I/O error", which reads as a failing disk), and a
 * raw copy of a WAL store on a read-only mount, whose -shm file SQLite must make beside it to
 * read it ("attempt to write a readonly database", which reads as the restore writing to the
 * backup). Root ignores folder permissions, so the second restore runs as `nobody`.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { asRoot, NOBODY, runCli, runCliAsNobody } from "./test-support/run-cli.js";

describe("restore from a file it cannot read", () => {
  it("names a --from that is a folder", async () => {
    const at = mkdtempSync(join(tmpdir(), "tenant-mfa-from-folder-"));
    const from = join(at, "backups");
    mkdirSync(from);
    const store = join(at, "store.db");
    const result = await runCli(["restore", "--db", `sqlite:${store}`, "--from", from]);
    expect(result.stderr).toContain(`${from} is not a file`);
    expect(result.exitCode).toBe(2);
    expect(readdirSync(at)).toEqual(["backups"]);
  });

  it.skipIf(!asRoot)(
    "names a WAL store's copy in a folder it cannot write (skipped unless root: it drops to nobody)",
    async () => {
      const at = mkdtempSync(join(tmpdir(), "tenant-mfa-from-mount-"));
      chmodSync(at, 0o755);
      const source = join(at, "source.db");
      expect((await runCli(["bootstrap", "--db", `sqlite:${source}`])).exitCode).toBe(0);
      // The store file copied as it lies (WAL mode, no -shm) onto a read-only mount.
      const mount = join(at, "mount");
      mkdirSync(mount);
      const from = join(mount, "raw.db");
      copyFileSync(source, from);
      chmodSync(from, 0o644);
      chmodSync(mount, 0o555);
      const data = join(at, "data");
      mkdirSync(data);
      spawnSync("chown", [`${NOBODY}:${NOBODY}`, data]);
      const store = join(data, "store.db");
      const result = runCliAsNobody(["restore", "--db", `sqlite:${store}`, "--from", from]);
      expect(result.stderr).toContain(`${from} is in WAL mode without its -shm file`);
      expect(result.stderr).not.toContain("attempt to write");
      expect(result.status).toBe(2);
      expect(readdirSync(data)).toEqual([]);
    },
    // The child compiles the CLI with tsx before it runs: seconds on a busy machine.
    90_000,
  );
});
