/**
 * Threat: a backup that replaces a device or a pipe. `backup --to /dev/null --force` (a dry run,
 * refused at first because /dev/null "exists") renamed the copy over the device node: run as
 * root, as a cron job may be, the machine's /dev/null became a file of every tenant's records,
 * writable by root only, until the next boot. A target that exists and is not a regular file
 * (a character device, a named pipe, a socket) is refused, with `--force` too.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./test-support/run-cli.js";

const asRoot = process.getuid?.() === 0;

async function store(): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), "tenant-mfa-special-")), "store.db");
  expect((await runCli(["bootstrap", "--db", `sqlite:${path}`])).exitCode).toBe(0);
  return `sqlite:${path}`;
}

describe("backup to a target that is not a regular file", () => {
  it("refuses a named pipe, with --force too, and leaves it a pipe", async () => {
    const db = await store();
    const pipe = join(mkdtempSync(join(tmpdir(), "tenant-mfa-pipe-")), "backup.fifo");
    expect(spawnSync("mkfifo", [pipe]).status).toBe(0);
    const result = await runCli(["backup", "--db", db, "--to", pipe, "--force"]);
    expect(result.stderr).toContain(`${pipe} is not a file`);
    expect(result.exitCode).toBe(2);
    expect(statSync(pipe).isFIFO()).toBe(true);
  });

  it.skipIf(!asRoot)(
    "refuses a device such as /dev/null, and leaves it a device (skipped unless root: mknod)",
    async () => {
      const db = await store();
      // A node of the null device of its own, so that the machine's /dev/null is never at risk.
      const device = join(mkdtempSync(join(tmpdir(), "tenant-mfa-device-")), "null");
      expect(spawnSync("mknod", ["-m", "666", device, "c", "1", "3"]).status).toBe(0);
      const result = await runCli(["backup", "--db", db, "--to", device, "--force"]);
      expect(result.stderr).toContain(`${device} is not a file`);
      expect(result.exitCode).toBe(2);
      expect(statSync(device).isCharacterDevice()).toBe(true);
    },
  );
});
