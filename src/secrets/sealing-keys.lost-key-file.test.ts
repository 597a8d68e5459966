/**
 * Threat: the embedded SQLite store's key file (`encryption-key.json`, beside the database) lost
 * while the store it protects is kept: a backup or a move that copied the database alone. The
 * server used to make a new key in its place and start as if nothing were wrong: every TOTP
 * secret, IdP client secret and signing key sealed before then answered `secret.unavailable`
 * (503) at first use (the JWKS and every token with them), while new secrets were sealed with the
 * new key, so that restoring the real file later lost those. A new key is made for a store that
 * holds no sealed secret only; for one that does, opening it is refused, naming the file to
 * restore and the key id it held with what it seals, and no key file is left behind to be taken
 * for the real one. The PKCE verifiers of pending OIDC sign-ins count too (the check once
 * overlooked them, and their sign-ins then failed), and `serve --demo` refuses such a store with
 * the exit code of every other command (2), not 1.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { createProgram } from "../cli/program.js";
import { openApplication } from "../main.js";
import { createAesGcmSealer } from "./aes-gcm-sealer.js";
import { keyFromFile } from "./sealing-keys.js";
import { beginTotpEnrolment, storePendingOidcSignIn } from "./test-support/sealed-values.js";

const exemptions = DEFAULT_SETTINGS.exemptions;

function freshStore(): { db: string; keyFile: string } {
  const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-lost-key-"));
  return { db: `sqlite:${join(folder, "store.db")}`, keyFile: join(folder, "encryption-key.json") };
}

/** The command as `tenant-mfa` runs it: what it throws is reported with exit code 1 (cli/main.ts). */
async function run(args: readonly string[]): Promise<{ exitCode: number; stderr: string }> {
  const result = { exitCode: 0, stderr: "" };
  try {
    await createProgram({
      env: {},
      stdout: { write: () => true },
      stderr: { write: (text: string) => (result.stderr += text) },
      setExitCode: (code) => {
        result.exitCode = code;
      },
      // Should a server start after all, it is closed at once (and the test fails on its exit code).
      onServing: (running) => void running.close(),
    }).parseAsync(["node", "tenant-mfa", ...args]);
  } catch (error) {
    result.stderr += `tenant-mfa: ${error instanceof Error ? error.message : String(error)}\n`;
    result.exitCode = 1;
  }
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
  await beginTotpEnrolment(opened);
  await opened.close();
  return store;
}

/**
 * A store whose only sealed value is the PKCE verifier of an OIDC sign-in sent to the IdP and not
 * yet answered, sealed with the key in its key file as the server seals one.
 */
async function storeWithPendingSignIn() {
  const store = freshStore();
  const opened = await openApplication({ db: store.db, exemptions });
  await storePendingOidcSignIn(opened, createAesGcmSealer([keyFromFile(store.keyFile)]));
  await opened.close();
  return store;
}

describe("a SQLite store whose key file is gone", () => {
  it.each([
    ["a signing key", storeWithSigningKey, "1 assurance-token signing key"],
    ["a TOTP secret", storeWithTotpSecret, "1 TOTP secret"],
    [
      "the PKCE verifier of a pending OIDC sign-in",
      storeWithPendingSignIn,
      "1 PKCE verifier of a pending OIDC sign-in, the last expiring at",
    ],
  ])(
    "holding %s is refused, naming the file, and no new key is made",
    async (_what, make, seals) => {
      const { db, keyFile } = await make();
      const { id } = JSON.parse(readFileSync(keyFile, "utf8")) as { id: string };
      rmSync(keyFile);
      const opening = openApplication({ db, exemptions });
      await expect(opening).rejects.toThrow(/encryption-key\.json/);
      await expect(opening).rejects.toThrow(/restore/);
      await expect(opening).rejects.toThrow(`${id} (${seals}`);
      expect(existsSync(keyFile)).toBe(false);

      const command = await run(["keys", "rotate", "--db", db]);
      expect(command.exitCode).toBe(2);
      expect(command.stderr).toContain(keyFile);
      expect(existsSync(keyFile)).toBe(false);
    },
  );

  it("is refused by serve --demo with exit code 2, as by the other commands", async () => {
    const { db, keyFile } = await storeWithSigningKey();
    rmSync(keyFile);
    const command = await run(["serve", "--demo", "--db", db, "--port", "18431"]);
    expect(command.stderr).toContain(keyFile);
    expect(command.exitCode).toBe(2);
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

  it("is opened with configured keys that hold the file's key: the file then plays no part", async () => {
    const { db, keyFile } = await storeWithSigningKey();
    const fileKey = JSON.parse(readFileSync(keyFile, "utf8")) as { id: string; key: string };
    rmSync(keyFile);
    const key = { id: "k2", key: randomBytes(32).toString("base64") };
    const opened = await openApplication({ db, exemptions, encryptionKeys: [key, fileKey] });
    try {
      expect((await opened.app.assurance.jwks()).keys).toHaveLength(1);
    } finally {
      await opened.close();
    }
    expect(existsSync(keyFile)).toBe(false);
  });

  it("is refused with configured keys that lack the file's key, naming it", async () => {
    const { db, keyFile } = await storeWithSigningKey();
    const fileKey = JSON.parse(readFileSync(keyFile, "utf8")) as { id: string; key: string };
    rmSync(keyFile);
    const key = { id: "k2", key: randomBytes(32).toString("base64") };
    await expect(openApplication({ db, exemptions, encryptionKeys: [key] })).rejects.toThrow(
      `${fileKey.id} (1 assurance-token signing key)`,
    );
    expect(existsSync(keyFile)).toBe(false);
  });

  it("still gets a new key when it holds no sealed secret (a store `migrate` made, say)", async () => {
    const { db, keyFile } = freshStore();
    expect((await run(["migrate", "--db", db])).exitCode).toBe(0);
    expect((await run(["bootstrap", "--db", db])).exitCode).toBe(0);
    expect(existsSync(keyFile)).toBe(true);
  });
});
