/**
 * Threat: a backup written over the live store's WAL. A store given by a symbolic link to its
 * file (`--db sqlite:/srv/tenant-mfa.db`, a link into a data volume) keeps its -wal and -shm
 * files beside the file the link names, as SQLite resolves the link; `backup --force` to that
 * -wal file renamed the copy over it, and the commits in it were gone for every process that
 * opened the store after. Those files are refused under their real names too.
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Caller } from "../app/application.js";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication, type OpenedApplication } from "../main.js";
import { runCli } from "./test-support/run-cli.js";

const ADMIN: Caller = { id: "test", name: "test", roles: ["platform_admin"], tenants: "all" };

const opened: OpenedApplication[] = [];
afterEach(async () => {
  for (const app of opened.splice(0)) await app.close();
});

describe("backup of a store given by a symbolic link", () => {
  it("refuses the -wal and -shm files beside the file the link names", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-linked-store-"));
    const volume = join(folder, "volume");
    mkdirSync(volume);
    const real = join(volume, "store.db");
    const link = join(folder, "tenant-mfa.db");
    symlinkSync(real, link);
    const app = await openApplication({
      db: `sqlite:${link}`,
      exemptions: DEFAULT_SETTINGS.exemptions,
    });
    opened.push(app);
    await app.app.tenants.create(ADMIN, { id: "t0", name: "Tenant 0" });
    expect(existsSync(`${real}-wal`)).toBe(true);

    for (const target of [`${real}-wal`, `${real}-shm`, real]) {
      const result = await runCli(["backup", "--db", `sqlite:${link}`, "--to", target, "--force"]);
      expect(result.stderr, target).toContain("is the store itself");
      expect(result.exitCode, target).toBe(2);
    }
    // The server's commits are all still there for a new reader of the store.
    await app.app.tenants.create(ADMIN, { id: "t1", name: "Tenant 1" });
    const reader = await openApplication({
      db: `sqlite:${link}`,
      exemptions: DEFAULT_SETTINGS.exemptions,
    });
    opened.push(reader);
    expect((await reader.app.tenants.list(ADMIN, {})).items.map((t) => t.id)).toEqual(["t0", "t1"]);
  });
});
