// Threat: `tenant-mfa secrets reseal` run for a key rotation on a store holding a sealed value
// that does not open (its ciphertext altered in the database). It stopped at that value with
// "A sealed secret could not be opened" and exit 1: the tenants before it re-sealed, the rest
// not, and nothing said which value was at fault. It re-seals every other value, names each one
// it could not open (kind and id, never a value), and exits 1 with `secret.reseal_incomplete`,
// so that no script drops the old key after it. A pending sign-in's PKCE verifier that does not
// open is named and left to expire (its sign-in fails closed): it does not fail the run.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { openApplication } from "../main.js";
import { createAesGcmSealer } from "../secrets/aes-gcm-sealer.js";
import { decodeKeys } from "../secrets/sealing-keys.js";
import {
  beginTotpEnrolment,
  storePendingOidcSignIn,
} from "../secrets/test-support/sealed-values.js";
import { runCli } from "./test-support/run-cli.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const exemptions = DEFAULT_SETTINGS.exemptions;
const key = (id: string) => ({ id, key: randomBytes(32).toString("base64") });
const K1 = key("k1");
const K2 = key("k2");
const rotating = { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([K2, K1]) };

/** A store with acme's pending TOTP authenticator and a pending OIDC sign-in, sealed with k1. */
async function seed(): Promise<{ db: string; file: string; authenticator: string }> {
  const file = join(mkdtempSync(join(tmpdir(), "tenant-mfa-reseal-")), "store.db");
  const db = `sqlite:${file}`;
  const opened = await openApplication({ db, exemptions, encryptionKeys: [K1] });
  try {
    await beginTotpEnrolment(opened);
    await storePendingOidcSignIn(opened, createAesGcmSealer(decodeKeys([K1])), "fed_pending");
    const [authenticator] = await opened.store.read((r) => r.authenticators.listTenant("acme"));
    return { db, file, authenticator: authenticator?.id ?? "" };
  } finally {
    await opened.close();
  }
}

function tamper(file: string, statement: string): void {
  const sqlite = new Database(file);
  sqlite.exec(statement);
  sqlite.close();
}

describe("tenant-mfa secrets reseal of a store holding a value that does not open", () => {
  it("re-seals the others, names it, and exits 1 with secret.reseal_incomplete", async () => {
    const { db, file, authenticator } = await seed();
    tamper(
      file,
      `UPDATE authenticators SET sealed_secret = replace(sealed_secret, 'v1.k1.', 'v1.k1.A')`,
    );
    const result = await runCli(["secrets", "reseal", "--db", db], rotating);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe(
      [
        "Re-sealed 0 TOTP secret(s) and 0 IdP client secret(s) in 1 tenant(s), 1 PKCE verifier(s) of pending OIDC sign-ins, and 0 signing key(s).",
        `NOT OPENED: TOTP secret of authenticator ${authenticator} of principal alice in tenant acme`,
        "",
      ].join("\n"),
    );
    expect(result.stderr).toMatch(
      /^tenant-mfa: secret\.reseal_incomplete: 1 sealed value\(s\) could not be opened with the configured keys \(listed above\) and were left as they were; every other value was re-sealed\./,
    );
    // Run again, it re-seals nothing more and names the same value.
    const again = await runCli(["secrets", "reseal", "--db", db], rotating);
    expect(again.exitCode).toBe(1);
    expect(again.stdout).toContain(`NOT OPENED: TOTP secret of authenticator ${authenticator}`);
  });

  it("names a pending sign-in's verifier that does not open, left to expire, and exits 0", async () => {
    const { db, file } = await seed();
    tamper(
      file,
      `UPDATE federation_requests SET document = replace(document, '"sealedCodeVerifier":"v1.k1.', '"sealedCodeVerifier":"v1.k1.A')`,
    );
    const result = await runCli(["secrets", "reseal", "--db", db], rotating);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /\nNOT OPENED: PKCE verifier of pending OIDC sign-in sha256:5300e7e307fdb98542ecd9d04fa406299c42b25d02a370b808b95eca02887ac2 in tenant acme \(its sign-in will fail; left to expire at \d{4}-\d\d-\d\dT[\d:.]+Z\)\n$/,
    );
    // The sign-in's id is its OIDC state: never printed as it is.
    expect(result.stdout).not.toContain("fed_pending");
    expect(result.stdout).toMatch(/^Re-sealed 1 TOTP secret\(s\)/);
    expect(result.stderr).toBe("");
  });
});
