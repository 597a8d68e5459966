// Threat: API keys stored as they are issued (DESIGN invariant 6): whoever reads the database (a
// backup, a replica, a SQL injection elsewhere) can then call the API as every key's holder.
// Only a one-way hash may be stored, and the hash itself must not work as a key.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openHarness, type Harness } from "../test-support/harness.js";

const PREFIX = "tmfa_";

describe("API keys are stored only as hashes", () => {
  let dir: string;
  let file: string;
  let h: Harness;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "tenant-mfa-api-keys-"));
    file = join(dir, "store.db");
    h = await openHarness({ url: `sqlite:${file}` });
  });
  afterEach(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = () =>
    h.app.apiKeys.create(h.admin, {
      name: "platform backend",
      roles: ["platform_service"],
      tenants: "all",
    });

  it("stores a hash that neither is nor contains the secret, and that does not authenticate", async () => {
    const { key, secret } = await issue();
    await expect(h.app.authenticate(secret)).resolves.toMatchObject({ id: key.id });
    const stored = await h.store.transaction(({ apiKeys }) => apiKeys.get(key.id));
    expect(stored).toBeDefined();
    const hash = stored?.secretHash ?? "";
    expect(hash.length).toBeGreaterThan(0);
    expect(hash).not.toBe(secret);
    expect(hash).not.toContain(secret);
    // The random part alone (the prefix only names the kind of credential).
    expect(hash).not.toContain(secret.slice(PREFIX.length));
    // What the store holds is no credential: not as stored, nor dressed as a key.
    for (const attempt of [hash, `${PREFIX}${hash}`]) {
      await expect(h.app.authenticate(attempt)).rejects.toMatchObject({
        code: "auth.invalid_credentials",
      });
    }
    // The key is found by its hash alone: the store needs nothing else to authenticate it.
    await expect(
      h.store.transaction(({ apiKeys }) => apiKeys.getBySecretHash(hash)),
    ).resolves.toMatchObject({ id: key.id });
  });

  it("gives each key its own hash, and shows no secret in the key listing or the audit chain", async () => {
    const issued = [await issue(), await issue()];
    const [first, second] = issued.map(({ key }) => key.secretHash);
    expect(first).not.toBe(second);
    const listed = JSON.stringify(await h.app.apiKeys.list(h.admin));
    const events = await h.store.read(({ audit }) =>
      audit.read("platform", { afterSeq: 0, limit: 1000 }),
    );
    expect(events.filter((e) => e.type === "api_key.created").length).toBeGreaterThanOrEqual(2);
    const audit = JSON.stringify(events);
    for (const { secret } of issued) {
      expect(listed).not.toContain(secret.slice(PREFIX.length));
      expect(audit).not.toContain(secret.slice(PREFIX.length));
    }
  });

  it("keeps the secret out of every table of the database", async () => {
    const { key, secret } = await issue();
    const random = secret.slice(PREFIX.length);
    const db = new Database(file, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[];
      // The rows are read: the key's row, with its hash, is there.
      expect(JSON.stringify(db.prepare("SELECT * FROM api_keys").all())).toContain(key.secretHash);
      for (const { name } of tables) {
        const rows = db.prepare(`SELECT * FROM "${name}"`).all();
        expect(JSON.stringify(rows), name).not.toContain(random);
      }
    } finally {
      db.close();
    }
  });
});
