// The WAL of a served SQLite file is copied into the database by a worker thread, so that no
// request waits for a checkpoint's fsyncs. Nothing committed may be lost on the way.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Sqlite from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { tenantRecord } from "../contract/fixtures.js";
import { openStore } from "../open-store.js";
import { BackgroundCheckpointer } from "./background-checkpointer.js";

const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-checkpoint-"));
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe("background WAL checkpoints", () => {
  it("copies every committed frame into the database file from its own connection", async () => {
    const path = join(folder, "copied.db");
    const store = await openStore(`sqlite:${path}`);
    const checkpointer = new BackgroundCheckpointer(path);
    try {
      for (let i = 0; i < 20; i++) {
        await store.transaction(({ tenants }) => tenants.insert(tenantRecord(`t${String(i)}`)));
      }
      const result = await checkpointer.checkpoint();
      expect(result.busy).toBe(false);
      expect(result.logFrames).toBeGreaterThan(0);
      expect(result.checkpointedFrames).toBe(result.logFrames);
    } finally {
      await checkpointer.close();
      await store.close();
    }
    // Read without the WAL's help: the rows are in the database file itself.
    const reader = new Sqlite(path, { readonly: true });
    try {
      expect(reader.prepare("select count(*) as n from tenants").get()).toEqual({ n: 20 });
    } finally {
      reader.close();
    }
  });

  it("keeps the process alive until a store's close has finished, so what follows it runs", () => {
    // The worker is unreferenced while serving; a close awaited on it alone once let Node exit
    // in the middle, silently skipping everything after it.
    const openStoreModule = fileURLToPath(new URL("../open-store.ts", import.meta.url));
    const script = [
      `const { openStore } = await import(${JSON.stringify(openStoreModule)});`,
      `const store = await openStore(${JSON.stringify(`sqlite:${join(folder, "child.db")}`)});`,
      "await store.close();",
      'process.stdout.write("after close");',
    ].join("\n");
    const output = execFileSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { encoding: "utf8" },
    );
    expect(output).toBe("after close");
  }, 60_000);

  it("refuses a checkpoint once closed instead of waiting for it", async () => {
    const checkpointer = new BackgroundCheckpointer(join(folder, "closed.db"));
    await checkpointer.close();
    await expect(checkpointer.checkpoint()).rejects.toThrow(/exited/);
  });
});
