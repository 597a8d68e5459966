/**
 * Threat: an encryption key that cannot seal (16 bytes, a hex string taken for base64, an id with
 * a dot, which the sealed value's `v1.<id>.…` form cannot hold) passing the configuration and
 * failing only when the server opens the store: the operator fixing the configuration sees one
 * problem at a time, with another exit code than the configuration's and outside its report
 * ("every invalid key is reported at once"). The configuration checks what the sealer will need,
 * and never echoes a key it refuses: the message goes to terminals and logs.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createProgram } from "../cli/program.js";
import { loadConfig } from "./load-config.js";
import { problemsOf } from "./test-support/config-problems.js";

const good = randomBytes(32).toString("base64");
const short = randomBytes(16).toString("base64");
const hex = randomBytes(32).toString("hex");
const KEY = "expected 32 bytes in base64 (44 characters, as `openssl rand -base64 32` prints)";
const ID =
  "expected letters, digits, - and _ only: a sealed value names its key by id, between dots";

describe("configured encryption keys", () => {
  it("are refused at load when they cannot seal, every one at once, beside other problems", () => {
    const keys = [
      { id: "short", key: short },
      { id: "hex", key: hex },
      { id: "text", key: "not base64 at all!" },
      { id: "k.2", key: good },
    ];
    const problems = problemsOf(() =>
      loadConfig({
        env: { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify(keys), TENANT_MFA_PORT: "0" },
      }),
    );
    expect([...problems].sort()).toEqual(
      [
        `encryptionKeys.0.key: ${KEY} (from TENANT_MFA_ENCRYPTION_KEYS)`,
        `encryptionKeys.1.key: ${KEY} (from TENANT_MFA_ENCRYPTION_KEYS)`,
        `encryptionKeys.2.key: ${KEY} (from TENANT_MFA_ENCRYPTION_KEYS)`,
        `encryptionKeys.3.id: ${ID} (from TENANT_MFA_ENCRYPTION_KEYS)`,
        "port: expected a number between 1 and 65535 (from TENANT_MFA_PORT)",
      ].sort(),
    );
    for (const problem of problems) {
      for (const { key } of keys) expect(problem).not.toContain(key);
    }
  });

  it("accept 32 bytes in base64, padded or not, and in base64url", () => {
    const bytes = randomBytes(32);
    const keys = [
      { id: "padded", key: bytes.toString("base64") },
      { id: "unpadded", key: bytes.toString("base64").replace(/=+$/, "") },
      { id: "url_safe-1", key: bytes.toString("base64url") },
    ];
    const config = loadConfig({ env: { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify(keys) } });
    expect(config.encryptionKeys).toEqual(keys);
  });

  it("stop a command as a configuration error (exit 2) before any store is opened", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "tenant-mfa-keys-")), "store.db");
    const result = { exitCode: 0, stderr: "" };
    await createProgram({
      env: { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([{ id: "k1", key: short }]) },
      stdout: { write: () => true },
      stderr: { write: (text: string) => (result.stderr += text) },
      setExitCode: (code) => {
        result.exitCode = code;
      },
    }).parseAsync(["node", "tenant-mfa", "bootstrap", "--db", `sqlite:${db}`]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("Invalid configuration");
    expect(result.stderr).toContain(`encryptionKeys.0.key: ${KEY}`);
    expect(result.stderr).not.toContain(short);
    expect(existsSync(db)).toBe(false);
  });
});
