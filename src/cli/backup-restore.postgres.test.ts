/**
 * Threat: a PostgreSQL store that cannot be brought back as it was. The README's procedure,
 * `pg_dump --format=custom` of the live database and `pg_restore --no-owner` into an empty one,
 * must give back a store that verifies against a checkpoint taken before the backup (no event
 * lost, none changed), whose sealed secrets open with the keys kept apart from the dump, and that
 * the server opens and serves without a migration of its own.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Caller } from "../app/application.js";
import { DEFAULT_SETTINGS } from "../app/context.js";
import {
  describeOnPostgres,
  openPostgresDatabase,
} from "../app/test-support/postgres-instances.js";
import { openApplication } from "../main.js";
import type { TestDatabase } from "../storage/postgres/test-support/test-database.js";
import { runCli } from "./test-support/run-cli.js";

const ADMIN: Caller = { id: "test", name: "test", roles: ["platform_admin"], tenants: "all" };
const KEYS = [{ id: "k1", key: Buffer.alloc(32, 7).toString("base64") }];
const env = { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify(KEYS) };
const exemptions = DEFAULT_SETTINGS.exemptions;

describeOnPostgres(
  {
    title: "a PostgreSQL store backed up with pg_dump and restored with pg_restore",
    skippedTitle: "pg_dump and pg_restore of a store",
    tests: "the PostgreSQL backup procedure",
  },
  () => {
    let source: TestDatabase;
    let restored: TestDatabase;
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-pg-backup-"));

    beforeAll(async () => {
      source = await openPostgresDatabase();
      // pg_restore recreates the store's tables: it restores into a database that has none.
      restored = await openPostgresDatabase({ empty: true });
      const app = await openApplication({ db: source.url, exemptions, encryptionKeys: KEYS });
      try {
        await app.app.tenants.create(ADMIN, { id: "acme", name: "Acme" });
        await app.app.principals.upsert(ADMIN, "acme", "alice", { population: "direct" });
        // A sealed secret: the signing key the JWKS publishes.
        await app.app.assurance.jwks();
      } finally {
        await app.close();
      }
    });
    afterAll(async () => {
      await source.drop();
      await restored.drop();
    });

    it("gives back every event, verified against a checkpoint taken before, and its sealed secrets", async () => {
      const checkpoint = await runCli(
        ["audit", "checkpoint", "--db", source.url, "--tenant", "acme"],
        env,
      );
      expect(checkpoint.exitCode, checkpoint.stderr).toBe(0);
      const kept = join(folder, "checkpoint.json");
      writeFileSync(kept, checkpoint.stdout);
      const dump = join(folder, "tenant-mfa.dump");
      execFileSync("pg_dump", ["--format=custom", `--file=${dump}`, source.url]);
      execFileSync("pg_restore", ["--no-owner", `--dbname=${restored.url}`, dump]);

      const verified = await runCli(
        ["audit", "verify", "--db", restored.url, "--checkpoint", kept],
        env,
      );
      expect(verified.stdout).toMatch(
        /^ok: 2 chain\(s\), \d+ event\(s\) verified, matching the checkpoint of tenant:acme at event 2/m,
      );
      expect(verified.exitCode).toBe(0);

      // The server's view: opened with the keys kept apart, nothing to migrate, secrets open.
      const app = await openApplication({ db: restored.url, exemptions, encryptionKeys: KEYS });
      try {
        expect((await app.app.principals.get(ADMIN, "acme", "alice")).population).toBe("direct");
        expect((await app.app.assurance.jwks()).keys).toHaveLength(1);
      } finally {
        await app.close();
      }
      const migrated = await runCli(["migrate", "--db", restored.url], env);
      expect(migrated.stdout).toContain("The store is up to date.");
    }, 60_000);
  },
);
