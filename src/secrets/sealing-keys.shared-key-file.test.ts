/**
 * Threat: the embedded SQLite store's key file (`encryption-key.json`, made 0600 beside the
 * database) copied or restored with a looser mode, so that other users of the machine may read
 * the key that seals every TOTP secret, IdP client secret and signing key, or replace it. Like
 * ssh with a private key, the server refuses such a file, naming it and the fix, rather than use
 * it silently. So too a key file owned by another user than the server's (and not root), at any
 * mode: its owner may change the mode, then read or replace the key, and it was used as it was.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication } from "../main.js";
import { asRoot, NOBODY } from "../cli/test-support/run-cli.js";
import { ForeignKeyFile, keyFromFile, SharedKeyFile } from "./sealing-keys.js";
import { takeKeysInProcesses } from "./test-support/take-keys-in-processes.js";

const keyFileIn = () => join(mkdtempSync(join(tmpdir(), "tenant-mfa-key-mode-")), "key.json");

describe.skipIf(process.platform === "win32")("a key file other users may read or write", () => {
  it("is made 0600 and read back", () => {
    const path = keyFileIn();
    const made = keyFromFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(keyFromFile(path)).toEqual(made);
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o602])(
    "is refused at mode %o, naming it and the fix",
    (mode) => {
      const path = keyFileIn();
      keyFromFile(path);
      chmodSync(path, mode);
      expect(() => keyFromFile(path)).toThrow(SharedKeyFile);
      expect(() => keyFromFile(path)).toThrow(`run chmod 600 ${path}`);
      chmodSync(path, 0o400);
      expect(keyFromFile(path).id).toMatch(/^local-/);
    },
  );

  it("stops the server from opening its store", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-key-mode-"));
    const db = `sqlite:${join(folder, "store.db")}`;
    const exemptions = DEFAULT_SETTINGS.exemptions;
    await (await openApplication({ db, exemptions })).close();
    const keyFile = join(folder, "encryption-key.json");
    chmodSync(keyFile, 0o644);
    await expect(openApplication({ db, exemptions })).rejects.toThrow(/chmod 600/);
    chmodSync(keyFile, 0o600);
    await (await openApplication({ db, exemptions })).close();
  });
});

describe.skipIf(process.platform === "win32")("a key file another user owns", () => {
  it.skipIf(!asRoot)(
    "is refused at mode 0600, naming it, its owner and the fix, and read once root owns it (skipped unless root)",
    () => {
      const path = keyFileIn();
      const made = keyFromFile(path);
      chownSync(path, NOBODY, NOBODY);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(() => keyFromFile(path)).toThrow(ForeignKeyFile);
      expect(() => keyFromFile(path)).toThrow(
        `The encryption key file ${path} is owned by uid ${String(NOBODY)}, neither this process's user (uid 0) nor root nor its folder's owner`,
      );
      expect(() => keyFromFile(path)).toThrow("run tenant-mfa as the user the server runs as");
      chownSync(path, 0, 0);
      expect(keyFromFile(path)).toEqual(made);
    },
  );

  // The server's user keeps its store in a folder of its own; root operating on that store
  // (`sudo tenant-mfa audit verify`) trusts what the folder's owner could replace anyway.
  it.skipIf(!asRoot)("is read when its folder's owner owns it too (skipped unless root)", () => {
    const path = keyFileIn();
    const made = keyFromFile(path);
    chownSync(path, NOBODY, NOBODY);
    chownSync(join(path, ".."), NOBODY, NOBODY);
    expect(keyFromFile(path)).toEqual(made);
    chownSync(join(path, ".."), NOBODY - 1, NOBODY - 1);
    expect(() => keyFromFile(path)).toThrow(ForeignKeyFile);
  });

  it.skipIf(!asRoot)("stops the server from opening its store (skipped unless root)", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-key-owner-"));
    const db = `sqlite:${join(folder, "store.db")}`;
    const exemptions = DEFAULT_SETTINGS.exemptions;
    await (await openApplication({ db, exemptions })).close();
    const keyFile = join(folder, "encryption-key.json");
    chownSync(keyFile, NOBODY, NOBODY);
    await expect(openApplication({ db, exemptions })).rejects.toThrow(ForeignKeyFile);
    chownSync(keyFile, 0, 0);
    await (await openApplication({ db, exemptions })).close();
  });

  it.skipIf(!asRoot)(
    "is named so to a server running as its own user, which reads the file it owns (skipped unless root: the server's process runs as nobody)",
    async () => {
      const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-key-owner-"));
      chmodSync(folder, 0o755);
      const own = join(folder, "own", "encryption-key.json");
      const foreign = join(folder, "foreign", "encryption-key.json");
      for (const path of [own, foreign]) {
        mkdirSync(join(path, ".."));
        keyFromFile(path);
        chownSync(join(path, ".."), NOBODY, NOBODY);
      }
      chownSync(own, NOBODY, NOBODY);
      // Another user than the server's: one whose files it may not open.
      chownSync(foreign, NOBODY - 1, NOBODY - 1);

      const [taken] = await takeKeysInProcesses(1, [own, foreign], { uid: NOBODY });

      expect(taken?.[0]).toMatchObject({ id: expect.stringMatching(/^local-/) as string });
      expect(taken?.[1]).toEqual({
        error: expect.stringContaining(
          `The encryption key file ${foreign} is owned by uid ${String(NOBODY - 1)}, neither this process's user (uid ${String(NOBODY)}) nor root nor its folder's owner`,
        ) as string,
      });
      expect(taken?.[1]).toEqual({
        error: expect.stringContaining(`run chown ${String(NOBODY)} ${foreign} as root`) as string,
      });
    },
    // The process compiles the module with tsx before it runs: seconds on a busy machine.
    60_000,
  );
});
