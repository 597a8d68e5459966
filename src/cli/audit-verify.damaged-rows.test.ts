// Threat: a row that `audit verify` reads besides the chains (here a tenant's and an API key's)
// overwritten in the database with text that is not JSON. `tenant-mfa audit verify` said the
// store could not be reached and verified nothing: an auditor would retry, never learning that
// the store was altered nor where. It names each damaged row, still verifies the chains, and
// exits 1 (not intact), on SQLite and on PostgreSQL.
import { randomBytes } from "node:crypto";
import { expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { describeOnEachStore } from "../app/test-support/each-store.js";
import { tamperStore } from "../app/test-support/tampered-world.js";
import { openApplication } from "../main.js";
import { runCli as run } from "./test-support/run-cli.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/** A store with the bootstrap key, tenant acme and its principal alice; the key's id. */
async function seed(db: string): Promise<string> {
  const bootstrap = await run(["bootstrap", "--db", db]);
  const secret = bootstrap.stdout.trim().split("\n").at(-1) ?? "";
  const opened = await openApplication({ db, exemptions: DEFAULT_SETTINGS.exemptions });
  try {
    const admin = await opened.app.authenticate(secret);
    await opened.app.tenants.create(admin, { id: "acme", name: "Acme" });
    await opened.app.principals.upsert(admin, "acme", "alice", { population: "direct" });
    return admin.id;
  } finally {
    await opened.close();
  }
}

/** The `kid` in the header of the compact JWS `jws`. */
function kidOf(jws: string): string {
  const [header = ""] = jws.split(".");
  return (JSON.parse(Buffer.from(header, "base64url").toString()) as { kid: string }).kid;
}

/** What `audit verify --json` of `db` prints, once it has exited 1 (not intact). */
async function verifiedNotIntact(db: string): Promise<unknown> {
  const json = await run(["audit", "verify", "--db", db, "--json"]);
  expect(json.exitCode).toBe(1);
  return JSON.parse(json.stdout);
}

const damagedRowTests = (
  open: () => Promise<{ db: string; tamper: (statements: readonly string[]) => Promise<void> }>,
) => {
  it("names each damaged row, verifies the chains all the same, and exits 1", async () => {
    const { db, tamper } = await open();
    const key = await seed(db);
    await tamper([
      "UPDATE tenants SET return_urls = 'not json' WHERE id = 'acme'",
      `UPDATE api_keys SET roles = 'not json' WHERE id = '${key}'`,
    ]);
    const result = await run(["audit", "verify", "--db", db]);
    expect([result.exitCode, result.stdout, result.stderr]).toEqual([
      1,
      [
        `DAMAGED: api_keys row ${key}: its stored text is not JSON (altered outside the service)`,
        "DAMAGED: tenants row acme: its stored text is not JSON (altered outside the service)",
        "NOT INTACT: 2 damaged row(s); the chains verify: 2 chain(s), 4 event(s) verified",
        "",
      ].join("\n"),
      "",
    ]);
    expect(await verifiedNotIntact(db)).toEqual({
      ok: false,
      chains: 2,
      events: 4,
      damaged: [
        { table: "api_keys", id: key },
        { table: "tenants", id: "acme" },
      ],
    });
    const tenant = await run(["audit", "verify", "--db", db, "--tenant", "acme"]);
    expect([tenant.exitCode, tenant.stdout]).toEqual([
      1,
      "DAMAGED: tenants row acme: its stored text is not JSON (altered outside the service)\n" +
        "NOT INTACT: 1 damaged row(s); the chains verify: 1 chain(s), 2 event(s) verified\n",
    ]);
  });

  it("names a tenant's damaged policy version and IdP, the IdP with its tenant", async () => {
    const { db, tamper } = await open();
    await seed(db);
    await tamper([
      "UPDATE policy_versions SET policy = '{' WHERE tenant = 'acme' AND version = 1",
      "INSERT INTO idps (tenant, id, protocol, document, version, created_at, updated_at) VALUES ('acme', 'corp', 'oidc', 'not json', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
    ]);
    const result = await run(["audit", "verify", "--db", db]);
    expect([result.exitCode, result.stdout]).toEqual([
      1,
      [
        "DAMAGED: idps row corp of tenant acme: its stored text is not JSON (altered outside the service)",
        "DAMAGED: policy_versions row acme version 1: its stored text is not JSON (altered outside the service)",
        "NOT INTACT: 2 damaged row(s); the chains verify: 2 chain(s), 4 event(s) verified",
        "",
      ].join("\n"),
    ]);
  });

  it("says a checkpoint that only a damaged key of the store could check is not confirmed", async () => {
    const { db, tamper } = await open();
    await seed(db);
    // Signing needs sealing keys: configured, as a PostgreSQL store has no key file beside it.
    const keys = {
      TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([
        { id: "k1", key: randomBytes(32).toString("base64") },
      ]),
    };
    const taken = await run(["audit", "checkpoint", "--db", db, "--tenant", "acme"], keys);
    const { checkpoint } = JSON.parse(taken.stdout) as { checkpoint: string };
    await tamper(["UPDATE signing_keys SET public_jwk = 'not json'"]);
    const kid = kidOf(checkpoint);
    const result = await run(["audit", "verify", "--db", db, "--checkpoint", checkpoint], keys);
    expect([result.exitCode, result.stdout]).toEqual([
      1,
      `DAMAGED: signing_keys row ${kid}: its stored text is not JSON (altered outside the service)\n` +
        "NOT CONFIRMED: the checkpoint (a signing key of the store that checks it cannot be read); verify against the file `audit checkpoint` printed, which holds its key\n" +
        "NOT INTACT: 1 damaged row(s); the chains verify: 2 chain(s), 5 event(s) verified\n",
    ]);
  });

  it("names every damaged row, the first 100 of a table, and counts the rest, in text and JSON", async () => {
    const { db, tamper } = await open();
    const key = await seed(db);
    const forged = Array.from(
      { length: 102 },
      (_, n) => `key_forged_${String(n).padStart(3, "0")}`,
    );
    await tamper([
      ...forged.map(
        (id) =>
          `INSERT INTO api_keys (id, name, secret_hash, roles, tenants, created_at, created_by) VALUES ('${id}', 'forged', 'hash-${id}', 'not json', '"all"', '2026-01-01T00:00:00.000Z', 'someone')`,
      ),
      `UPDATE api_keys SET tenants = 'not json' WHERE id = '${key}'`,
    ]);
    // The bootstrap key's id sorts first: it is named, and so are the first 99 forged ones.
    const named = [key, ...forged.slice(0, 99)];
    expect(key < (forged[0] ?? "")).toBe(true);
    const result = await run(["audit", "verify", "--db", db]);
    expect([result.exitCode, result.stdout]).toEqual([
      1,
      [
        ...named.map(
          (id) =>
            `DAMAGED: api_keys row ${id}: its stored text is not JSON (altered outside the service)`,
        ),
        "DAMAGED: 3 more api_keys row(s), not listed (the first 100 of each table are)",
        "NOT INTACT: 103 damaged row(s); the chains verify: 2 chain(s), 4 event(s) verified",
        "",
      ].join("\n"),
    ]);
    expect(await verifiedNotIntact(db)).toEqual({
      ok: false,
      chains: 2,
      events: 4,
      damaged: named.map((id) => ({ table: "api_keys", id })),
      damagedUnlisted: { api_keys: 3 },
    });
  });

  it("names the damaged row before the first broken link", async () => {
    const { db, tamper } = await open();
    await seed(db);
    await tamper([
      "UPDATE tenants SET return_urls = 'not json' WHERE id = 'acme'",
      "UPDATE audit_events SET actor = 'someone else' WHERE chain = 'tenant:acme' AND seq = 2",
    ]);
    const result = await run(["audit", "verify", "--db", db]);
    expect([result.exitCode, result.stdout]).toEqual([
      1,
      "DAMAGED: tenants row acme: its stored text is not JSON (altered outside the service)\n" +
        "BROKEN: chain tenant:acme, event 2: hash_mismatch\n" +
        "(3 event(s) verified before the first broken link)\n",
    ]);
  });
};

describeOnEachStore("tenant-mfa audit verify of a store with damaged rows", (open) => {
  damagedRowTests(async () => {
    const db = await open();
    return { db, tamper: (statements) => tamperStore(db, statements) };
  });
});
