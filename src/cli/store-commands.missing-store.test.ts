// Threat: a command that reads or changes an existing store reporting success about a store
// that is not there. Opening a mistyped `--db sqlite:PATH` (or none, with TENANT_MFA_DB unset
// in another folder) makes a new, empty store: `audit verify` then printed "ok: 0 chain(s)" and
// exited 0 for an auditor whose store was never read, and `keys rotate --compromised` said
// "every earlier key was withdrawn" while the real server went on signing with the stolen key.
// These commands refuse a SQLite store that does not exist (exit 2) and create nothing.
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createProgram } from "./program.js";

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number;
}

async function run(
  args: readonly string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<Run> {
  const result: Run = { stdout: "", stderr: "", exitCode: 0 };
  const program = createProgram({
    env,
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
  });
  const before = process.cwd();
  if (cwd !== undefined) process.chdir(cwd);
  try {
    await program.parseAsync(["node", "tenant-mfa", ...args]);
  } finally {
    process.chdir(before);
  }
  return result;
}

const folder = () => mkdtempSync(join(tmpdir(), "tenant-mfa-missing-"));
const keys = JSON.stringify([{ id: "k1", key: randomBytes(32).toString("base64") }]);

describe("commands on a store that does not exist", () => {
  it.each([
    [["audit", "verify"]],
    [["audit", "verify", "--json"]],
    [["audit", "checkpoint"]],
    [["keys", "rotate", "--compromised"]],
    [["secrets", "reseal"]],
  ])("%j fails with exit 2 naming the missing store, and creates none", async (command) => {
    const dir = folder();
    const path = join(dir, "typo", "store.db");
    const result = await run([...command, "--db", `sqlite:${path}`], {
      TENANT_MFA_ENCRYPTION_KEYS: keys,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`no store at ${path}`);
    expect(existsSync(join(dir, "typo"))).toBe(false);
  });

  it("audit verify without --db, away from the store, does not call a new empty store intact", async () => {
    const dir = folder();
    const result = await run(["audit", "verify"], {}, dir);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).not.toContain("ok:");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("still verifies a store that exists", async () => {
    const db = `sqlite:${join(folder(), "store.db")}`;
    expect((await run(["bootstrap", "--db", db])).exitCode).toBe(0);
    const result = await run(["audit", "verify", "--db", db]);
    expect([result.exitCode, result.stdout]).toEqual([0, "ok: 1 chain(s), 1 event(s) verified\n"]);
  });
});
