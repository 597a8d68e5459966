/**
 * Threat: the embedded SQLite store's key file (`encryption-key.json`, beside the database) lost
 * while the store it protects is kept: a backup or a move that copied the database alone. The
 * server used to make a new key in its place and start as if nothing were wrong: every TOTP
 * secret, IdP client secret and signing key sealed before then answered `secret.unavailable`
 * (503) at first use (the JWKS and every token with them), while new secrets were sealed with the
 * new key, so that restoring the real file later lost those. A new key is made for a store that
 * holds no sealed secret only; for one that does, opening it is refused, naming the file to
 * restore, and no key file is left behind to be taken for the real one.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { createProgram } from "../cli/program.js";
import { openApplication } from "../main.js";

const exemptions = DEFAULT_SETTINGS.exemptions;

function freshStore(): { db: string; keyFile: string } {
  const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-lost-key-"));
  return { db: `sqlite:${join(folder, "store.db")}`, keyFile: join(folder, "encryption-key.json") };
}

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

/** A store whose signing key is sealed with the key in its key file, as after serving a JWKS. */
async function storeWithSigningKey() {
  const store = freshStore();
  const opened = await openApplication({ db: store.db, exemptions });
  await opened.app.assurance.jwks();
  await opened.close();
  expect(existsSync(store.keyFile)).toBe(true);
  return store;
}

/** A store with a TOTP secret sealed with the key in its key file, and no signing key. */
async function storeWithTotpSecret() {
  const store = freshStore();
  const opened = await openApplication({ db: store.db, exemptions });
  const { secret } = await opened.bootstrap({ name: "admin" });
  const admin = await opened.app.authenticate(secret);
  await opened.app.tenants.create(admin, { id: "acme", name: "Acme" });
  await opened.app.principals.upsert(admin, "acme", "alice", { population: "direct" });
  const { secret: serviceKey } = await opened.app.apiKeys.create(admin, {
    name: "backend",
    roles: ["platform_service"],
    tenants: ["acme"],
  });
  const service = await opened.app.authenticate(serviceKey);
  await opened.app.authenticators.beginTotp(service, "acme", "alice", {});
  await opened.close();
  return store;
}

describe("a SQLite store whose key file is gone", () => {
  it.each([
    ["a signing key", storeWithSigningKey],
    ["a TOTP secret", storeWithTotpSecret],
  ])("holding %s is refused, naming the file, and no new key is made", async (_what, make) => {
    const { db, keyFile } = await make();
    rmSync(keyFile);
    const opening = openApplication({ db, exemptions });
    await expect(opening).rejects.toThrow(/encryption-key\.json/);
    await expect(opening).rejects.toThrow(/restore/);
    expect(existsSync(keyFile)).toBe(false);

    const command = await run(["keys", "rotate", "--db", db]);
    expect(command.exitCode).toBe(2);
    expect(command.stderr).toContain(keyFile);
    expect(existsSync(keyFile)).toBe(false);
  });

  it("opens again once the file is restored", async () => {
    const { db, keyFile } = await storeWithSigningKey();
    const saved = readFileSync(keyFile);
    rmSync(keyFile);
    await expect(openApplication({ db, exemptions })).rejects.toThrow(/restore/);
    writeFileSync(keyFile, saved, { mode: 0o600 });
    const opened = await openApplication({ db, exemptions });
    try {
      expect((await opened.app.assurance.jwks()).keys).toHaveLength(1);
    } finally {
      await opened.close();
    }
  });

  it("is opened with configured keys instead: the operator chose them, and the file plays no part", async () => {
    const { db, keyFile } = await storeWithSigningKey();
    rmSync(keyFile);
    const key = { id: "k2", key: randomBytes(32).toString("base64") };
    const opened = await openApplication({ db, exemptions, encryptionKeys: [key] });
    await opened.close();
    expect(existsSync(keyFile)).toBe(false);
  });

  it("still gets a new key when it holds no sealed secret (a store `migrate` made, say)", async () => {
    const { db, keyFile } = freshStore();
    expect((await run(["migrate", "--db", db])).exitCode).toBe(0);
    expect((await run(["bootstrap", "--db", db])).exitCode).toBe(0);
    expect(existsSync(keyFile)).toBe(true);
  });
});
