/**
 * Threat: the embedded SQLite store's key file (`encryption-key.json`, made 0600 beside the
 * database) copied or restored with a looser mode, so that other users of the machine may read
 * the key that seals every TOTP secret, IdP client secret and signing key, or replace it. Like
 * ssh with a private key, the server refuses such a file, naming it and the fix, rather than use
 * it silently.
 */
import { chmodSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication } from "../main.js";
import { keyFromFile, SharedKeyFile } from "./sealing-keys.js";

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
