// Threat: a row of the store altered outside the service, its JSON text no longer JSON (a tenant,
// a signing key). `secrets reseal` and `audit checkpoint` answered "The service cannot reach its
// store" (`store.unavailable`), which sends the operator to the network or the database server
// instead of to the one altered row. Each exits 1 naming the row as `audit verify` names it
// (`store.record_damaged`), on SQLite and on PostgreSQL.
import { randomBytes } from "node:crypto";
import { expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { describeOnEachStore } from "../app/test-support/each-store.js";
import { tamperStore } from "../app/test-support/tampered-world.js";
import { beginTotpEnrolment } from "../secrets/test-support/sealed-values.js";
import { openApplication } from "../main.js";
import { runCli as run } from "./test-support/run-cli.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const key = (id: string) => ({ id, key: randomBytes(32).toString("base64") });
const K1 = key("k1");
const K2 = key("k2");
const withKeys = (...keys: (typeof K1)[]) => ({ TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify(keys) });

/**
 * A store with tenant acme, whose principal alice has begun a TOTP enrolment (a secret sealed
 * with k1), and two signing keys sealed with k1: the first withdrawn from the JWK Set as
 * compromised (kept for the checkpoints it signed), the second signing now.
 */
async function seed(db: string): Promise<{ removed: string; signing: string }> {
  const opened = await openApplication({
    db,
    exemptions: DEFAULT_SETTINGS.exemptions,
    encryptionKeys: [K1],
  });
  try {
    const admin = await beginTotpEnrolment(opened);
    const [first] = (await opened.app.assurance.jwks()).keys;
    const { kid: signing } = await opened.app.assurance.rotateSigningKey(admin, {
      compromised: true,
    });
    return { removed: first?.kid ?? "", signing };
  } finally {
    await opened.close();
  }
}

/** The sealed TOTP secrets of the store, as stored. */
async function sealedTotpSecrets(db: string): Promise<readonly (string | undefined)[]> {
  const opened = await openApplication({
    db,
    exemptions: DEFAULT_SETTINGS.exemptions,
    encryptionKeys: [K1],
  });
  try {
    const stored = await opened.store.read((r) => r.authenticators.list("acme", "alice"));
    return stored.map((authenticator) => authenticator.sealedSecret);
  } finally {
    await opened.close();
  }
}

/** A run that exits 1 naming `row` as damaged, saying what is `refused` until it is restored. */
const refusal = (row: string, refused: string) => ({
  exitCode: 1,
  stdout: "",
  stderr: `tenant-mfa: DAMAGED: ${row}: its stored text is not JSON (altered outside the service). ${refused} until each damaged row is restored from a backup; \`tenant-mfa audit verify\` names every damaged row.\n`,
});

const damagedRowTests = (open: () => Promise<string>) => {
  it("secrets reseal names a signing key row whose public JWK is not JSON, and exits 1", async () => {
    const db = await open();
    const { removed } = await seed(db);
    await tamperStore(db, [
      `UPDATE signing_keys SET public_jwk = 'not json' WHERE kid = '${removed}'`,
    ]);
    const sealedBefore = await sealedTotpSecrets(db);
    const result = await run(["secrets", "reseal", "--db", db], withKeys(K2, K1));
    expect(result).toEqual(refusal(`signing_keys row ${removed}`, "Nothing is re-sealed"));
    // Refused before anything was re-sealed: the tenant's TOTP secret is as it was, under k1.
    expect(sealedBefore).toHaveLength(1);
    expect(await sealedTotpSecrets(db)).toEqual(sealedBefore);
  });

  it("secrets reseal names a tenant row whose return URLs are not JSON, and exits 1", async () => {
    const db = await open();
    await seed(db);
    await tamperStore(db, ["UPDATE tenants SET return_urls = '[\"https://' WHERE id = 'acme'"]);
    const result = await run(["secrets", "reseal", "--db", db], withKeys(K2, K1));
    expect(result).toEqual(refusal("tenants row acme", "Whatever reads it is refused"));
  });

  it("audit checkpoint names a removed signing key row that is not JSON (every public key is read), and exits 1", async () => {
    const db = await open();
    const { removed } = await seed(db);
    await tamperStore(db, [`UPDATE signing_keys SET public_jwk = '{' WHERE kid = '${removed}'`]);
    const result = await run(["audit", "checkpoint", "--db", db], withKeys(K1));
    expect(result).toEqual(refusal(`signing_keys row ${removed}`, "Whatever reads it is refused"));
  });
};

describeOnEachStore("CLI commands meeting a damaged row", damagedRowTests);
