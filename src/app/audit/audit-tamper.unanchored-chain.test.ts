// Threat: someone with write access to the database hides a tenant's history from `audit verify`
// without touching a single event: they delete the tenant's row and its chain's head row, the
// two places verification used to learn that the chain exists, and every event stays where it
// was. Verification must still find each chain that holds events, and report one whose head is
// gone as broken, on both stores.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  type TestDatabase,
} from "../../storage/postgres/test-support/test-database.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { describeOnPostgres, postgresUnreachable } from "../test-support/postgres-instances.js";

/** An application over a fresh store, and a way into its database that bypasses it. */
interface TamperedWorld {
  readonly h: Harness;
  /** Runs SQL straight on the database, as someone holding its credentials would. */
  readonly tamper: (statements: readonly string[]) => Promise<void>;
  readonly close: () => Promise<void>;
}

async function openSqliteWorld(): Promise<TamperedWorld> {
  const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-audit-"));
  const file = join(dir, "store.db");
  const h = await openHarness({ url: `sqlite:${file}` });
  const db = new Database(file);
  // Foreign keys are a setting of each connection: this one skips those that keep the tenant's row.
  db.pragma("foreign_keys = OFF");
  return {
    h,
    tamper: (statements) => {
      for (const statement of statements) db.exec(statement);
      return Promise.resolve();
    },
    close: async () => {
      db.close();
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgresWorld(): Promise<TamperedWorld> {
  if (postgresUnreachable !== undefined)
    throw new Error(`PostgreSQL unreachable in CI: ${postgresUnreachable}`);
  const database: TestDatabase = await createTestDatabase();
  const h = await openHarness({ url: database.url });
  return {
    h,
    tamper: async (statements) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        // A superuser's session skips the foreign keys that would keep the tenant's row.
        await client.query("SET session_replication_role = replica");
        for (const statement of statements) await client.query(statement);
      } finally {
        await client.end();
      }
    },
    close: async () => {
      await h.close();
      await database.drop();
    },
  };
}

const tamperingTests = (open: () => Promise<TamperedWorld>) => () => {
  let world: TamperedWorld | undefined;
  let h: Harness;

  beforeEach(async () => {
    world = await open();
    ({ h } = world);
    for (const id of ["acme", "globex"]) {
      await h.app.tenants.create(h.admin, { id, name: id });
      await h.app.policies.replace(h.admin, id, {
        policy: { posture: "platform_mfa" },
        rationale: "raise the bar",
        ifMatch: 1,
      });
    }
  });
  afterEach(async () => {
    await world?.close();
  });

  const tamper = (statements: readonly string[]) => {
    if (world === undefined) throw new Error("not set up");
    return world.tamper(statements);
  };
  const verifyAll = () => h.app.audit.verify(h.admin, {});

  it("verifies the untouched chains: the platform's and each tenant's", async () => {
    expect(await verifyAll()).toMatchObject({ ok: true, chains: 3 });
  });

  it("finds a tenant's chain whose tenant row and head row were deleted, its events left", async () => {
    await tamper([
      "DELETE FROM tenants WHERE id = 'acme'",
      "DELETE FROM audit_heads WHERE chain = 'tenant:acme'",
    ]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      chains: 3,
      broken: { chain: "tenant:acme", seq: 0, problem: "missing" },
    });
  });

  it("finds the platform chain's head row deleted, its events left", async () => {
    await tamper(["DELETE FROM audit_heads WHERE chain = 'platform'"]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      chains: 3,
      broken: { chain: "platform", seq: 0, problem: "missing" },
    });
  });
};

describe(
  "audit verify of a chain whose tenant and head rows were deleted (SQLite)",
  tamperingTests(openSqliteWorld),
);

describeOnPostgres(
  {
    title: "audit verify of a chain whose tenant and head rows were deleted (PostgreSQL)",
    skippedTitle: "audit verify of a chain whose tenant and head rows were deleted (PostgreSQL)",
    tests: "audit verify tests on PostgreSQL",
  },
  tamperingTests(openPostgresWorld),
);
