// Threat: an assurance-token signing key sealed with an encryption key that is lost (or whose
// stored value was altered) kept that key in configuration for good: every command that opens
// the store (`serve`, `keys rotate`, `secrets reseal`…) refuses one holding a value sealed with
// a key it is not given, and a signing key is kept for good, so nothing ever let the key go.
// `tenant-mfa keys withdraw` lists the signing keys that do not open and withdraws those named,
// audited; then the lost key is no longer asked for, on SQLite and on PostgreSQL.
import { randomBytes } from "node:crypto";
import { expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { describeOnEachStore } from "../app/test-support/each-store.js";
import { tamperStore } from "../app/test-support/tampered-world.js";
import { openApplication } from "../main.js";
import { runCli as run } from "./test-support/run-cli.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const key = (id: string) => ({ id, key: randomBytes(32).toString("base64") });
const K1 = key("k1");
const K2 = key("k2");
const withKeys = (...keys: (typeof K1)[]) => ({ TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify(keys) });

/** A store whose one signing key is sealed with k1, then lost: its kid. */
async function seed(db: string): Promise<string> {
  const opened = await openApplication({
    db,
    exemptions: DEFAULT_SETTINGS.exemptions,
    encryptionKeys: [K1],
  });
  try {
    const [signing] = (await opened.app.assurance.jwks()).keys;
    return signing?.kid ?? "";
  } finally {
    await opened.close();
  }
}

const withdrawTests = (open: () => Promise<string>) => {
  it("lists the signing key that no key opens, withdraws it, and the lost key is asked for no more", async () => {
    const db = await open();
    const kid = await seed(db);
    const onlyK2 = withKeys(K2);
    // k1 is lost: every command that opens the store refuses it.
    const refused = await run(["keys", "rotate", "--db", db], onlyK2);
    expect([refused.exitCode, refused.stderr]).toEqual([
      2,
      expect.stringContaining("k1 (1 assurance-token signing key)"),
    ]);
    expect(refused.stderr).toContain("`tenant-mfa keys withdraw` lists them");

    const listed = await run(["keys", "withdraw", "--db", db], onlyK2);
    expect([listed.exitCode, listed.stdout]).toEqual([
      0,
      `UNOPENABLE: signing key ${kid}, sealed with k1, published\n` +
        "Withdraw each with `tenant-mfa keys withdraw KID…`.\n",
    ]);
    const withdrawn = await run(["keys", "withdraw", kid, "--db", db], onlyK2);
    expect([withdrawn.exitCode, withdrawn.stdout, withdrawn.stderr]).toEqual([
      0,
      `Withdrew signing key ${kid} (sealed with k1, which no configured key opens): it signs no more and left the JWK Set; its public part is kept.\n`,
      "",
    ]);

    const rotated = await run(["keys", "rotate", "--db", db], onlyK2);
    expect([rotated.exitCode, rotated.stderr]).toEqual([0, ""]);
    const again = await run(["keys", "withdraw", "--db", db], onlyK2);
    expect(again.stdout).toBe(
      "Every signing key opens with the configured keys: nothing to withdraw.\n",
    );
    const verified = await run(["audit", "verify", "--db", db], onlyK2);
    expect([verified.exitCode, verified.stdout]).toEqual([0, expect.stringMatching(/^ok: /)]);
  });

  // Threat: a signing key row altered outside the service (its public JWK no longer JSON) made
  // the command crash with a stack trace instead of saying which row to restore.
  it("names a signing key row whose public JWK is not JSON, as audit verify does, and lists or withdraws nothing", async () => {
    const db = await open();
    const kid = await seed(db);
    await tamperStore(db, [`UPDATE signing_keys SET public_jwk = '{"kty":' WHERE kid = '${kid}'`]);
    const refusal =
      `tenant-mfa: DAMAGED: signing_keys row ${kid}: its stored text is not JSON (altered outside the service). ` +
      "No signing key is listed or withdrawn until each damaged row is restored from a backup; `tenant-mfa audit verify` names every damaged row.\n";
    for (const args of [[], [kid]]) {
      const answered = await run(["keys", "withdraw", ...args, "--db", db], withKeys(K2));
      expect([answered.exitCode, answered.stdout, answered.stderr]).toEqual([1, "", refusal]);
    }
    const verified = await run(["audit", "verify", "--db", db], withKeys(K2));
    expect([verified.exitCode, verified.stdout]).toEqual([
      1,
      expect.stringContaining(
        `DAMAGED: signing_keys row ${kid}: its stored text is not JSON (altered outside the service)`,
      ),
    ]);
  });

  it("refuses to withdraw a key that opens, and one it does not know", async () => {
    const db = await open();
    const kid = await seed(db);
    const opening = await run(["keys", "withdraw", kid, "--db", db], withKeys(K2, K1));
    expect([opening.exitCode, opening.stderr]).toEqual([
      1,
      `tenant-mfa: Signing key ${kid} opens with the configured keys: it is not withdrawn. Rotate (\`keys rotate --compromised\`) and re-seal (\`secrets reseal\`) instead.\n`,
    ]);
    const unknown = await run(["keys", "withdraw", "key_unknown", "--db", db], withKeys(K1));
    expect([unknown.exitCode, unknown.stderr]).toEqual([
      1,
      "tenant-mfa: There is no signing key key_unknown to withdraw.\n",
    ]);
  });
};

describeOnEachStore("tenant-mfa keys withdraw", withdrawTests);
