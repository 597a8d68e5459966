// Threat: the embedded SQLite store that `bootstrap`, `migrate` and `serve` create being
// readable by every user of the machine (0644 under the usual umask): it holds every tenant's
// principals, IdP registrations, decision receipts and audit log, and the sealed secrets whose
// key sits beside it in a file only its owner may read. A store these commands create is its
// owner's alone (0600), in a folder of its owner's when they make that too (0700); SQLite gives
// its -wal and -shm files the database's mode.
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createProgram } from "./program.js";

async function run(args: readonly string[]): Promise<{ exitCode: number; stderr: string }> {
  const result = { exitCode: 0, stderr: "" };
  await createProgram({
    env: {},
    stdout: { write: () => true },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
  }).parseAsync(["node", "tenant-mfa", ...args]);
  return result;
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe("the store file a command creates", () => {
  it.each([[["bootstrap"]], [["migrate"]]])(
    "%j creates the store and its folder for their owner only",
    async (command) => {
      const folder = join(mkdtempSync(join(tmpdir(), "tenant-mfa-mode-")), "data");
      const path = join(folder, "store.db");
      const result = await run([...command, "--db", `sqlite:${path}`]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(modeOf(path) & 0o077).toBe(0);
      expect(modeOf(folder) & 0o077).toBe(0);
    },
  );

  it("leaves the folder alone when it exists", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-mode-"));
    const before = modeOf(folder);
    const path = join(folder, "store.db");
    expect((await run(["bootstrap", "--db", `sqlite:${path}`])).exitCode).toBe(0);
    expect(modeOf(path) & 0o077).toBe(0);
    expect(modeOf(folder)).toBe(before);
  });
});
