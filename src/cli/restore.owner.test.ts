/**
 * Property: a store restored by root (`sudo tenant-mfa restore`) is the server's to open. The
 * copy was root's, readable by its owner only, so the server, which runs as its own user, could
 * not open the store it was given back ("unable to open database file") until someone found and
 * changed the owner. The restored store takes the owner of the store it replaces, or of its
 * folder when there was none.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { asRoot, NOBODY, runCli, runCliAsNobody } from "./test-support/run-cli.js";

/** Gives `path` and everything in it to `nobody`, as a service user's data folder is. */
function giveToNobody(path: string): void {
  chownSync(path, NOBODY, NOBODY);
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) giveToNobody(join(path, name));
  }
}

describe("a restore run by root", () => {
  it.skipIf(!asRoot)(
    "gives the restored store the owner of the store it replaces, whom the server runs as (skipped unless root)",
    async () => {
      const root = mkdtempSync(join(tmpdir(), "tenant-mfa-owner-"));
      chmodSync(root, 0o755);
      const data = join(root, "data");
      mkdirSync(data);
      const store = join(data, "store.db");
      expect((await runCli(["bootstrap", "--db", `sqlite:${store}`])).exitCode).toBe(0);
      const backup = join(root, "backup.db");
      expect((await runCli(["backup", "--db", `sqlite:${store}`, "--to", backup])).exitCode).toBe(
        0,
      );
      giveToNobody(data);

      const result = await runCli(["restore", "--db", `sqlite:${store}`, "--from", backup]);
      expect(result.exitCode, result.stderr).toBe(0);
      const restored = statSync(store);
      expect({ uid: restored.uid, gid: restored.gid, mode: restored.mode & 0o777 }).toEqual({
        uid: NOBODY,
        gid: NOBODY,
        mode: 0o600,
      });
      // The server's user reads it: its chains verify.
      const verified = runCliAsNobody(["audit", "verify", "--db", `sqlite:${store}`]);
      expect(verified.stdout, verified.stderr).toContain("ok:");
      expect(verified.status).toBe(0);
    },
    // The child compiles the CLI with tsx before it runs: seconds on a busy machine.
    90_000,
  );
});
