/**
 * Property: `backup` given a store path that is a folder says so (exit 2) instead of ending in
 * an uncaught SQLite error (exit 1, "disk I/O error"), which reads as a failing disk. Fails until
 * src/cli/program.ts's `refuseStore` refuses a SQLite path that is not a file (the check runs
 * before the copy, in every command that acts on an existing store).
 */
import { mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./test-support/run-cli.js";

describe("backup of a store path that is a folder", () => {
  it("is refused, naming the path, and writes nothing", async () => {
    const at = mkdtempSync(join(tmpdir(), "tenant-mfa-store-folder-"));
    const store = join(at, "store.db");
    mkdirSync(store);
    const to = join(at, "copy.db");
    const result = await runCli(["backup", "--db", `sqlite:${store}`, "--to", to]);
    expect(result.stderr).toContain(`${store} is not a file`);
    expect(result.exitCode).toBe(2);
    expect(readdirSync(at)).toEqual(["store.db"]);
  });
});
