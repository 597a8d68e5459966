/**
 * Threat: a backup written over the store's sealing key. `backup --to ./data/encryption-key.json
 * --force` (a slip of the shell's completion: the key file is beside the store) renamed the copy
 * over the key file, and every TOTP secret, OIDC client secret and signing key sealed with it
 * was lost for good; the server then refuses to start. The key file is refused as a target, with
 * `--force` too, under any name of its folder.
 */
import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backUpSqliteStore, StoreCopyRefused } from "../storage/sqlite/back-up-sqlite-store.js";
import { runCli } from "./test-support/run-cli.js";

/** A bootstrapped store, closed, with its key file beside it. */
async function storeWithKey() {
  const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-key-target-"));
  const path = join(folder, "store.db");
  expect((await runCli(["bootstrap", "--db", `sqlite:${path}`])).exitCode).toBe(0);
  const keyFile = join(folder, "encryption-key.json");
  return { folder, path, keyFile, key: readFileSync(keyFile, "utf8") };
}

describe("backup to the store's sealing key file", () => {
  it("is refused by the copy when it is named its sealing key file, by any name of its folder", async () => {
    const store = await storeWithKey();
    const alias = join(mkdtempSync(join(tmpdir(), "tenant-mfa-alias-")), "data");
    symlinkSync(store.folder, alias);
    for (const target of [store.keyFile, join(alias, "encryption-key.json")]) {
      expect(() =>
        backUpSqliteStore(store.path, target, {
          now: new Date(),
          replace: true,
          sealingKeyFile: store.keyFile,
        }),
      ).toThrow(StoreCopyRefused);
    }
    expect(readFileSync(store.keyFile, "utf8")).toBe(store.key);
  });

  // Fails until src/cli/program.ts passes `sealingKeyFile: localKeyFile(config)` to the copy.
  it("is refused by `tenant-mfa backup --force`, the key left as it was", async () => {
    const store = await storeWithKey();
    const result = await runCli([
      "backup",
      "--db",
      `sqlite:${store.path}`,
      "--to",
      store.keyFile,
      "--force",
    ]);
    expect(result.stderr).toContain(`${store.keyFile} is the store's sealing key file`);
    expect(result.exitCode).toBe(2);
    expect(readFileSync(store.keyFile, "utf8")).toBe(store.key);
  });
});
