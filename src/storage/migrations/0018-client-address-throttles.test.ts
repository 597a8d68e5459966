// Migration 0018 rebuilds verification_throttles without its reference to tenants, so that rows of
// the platform-wide scope "*" (client addresses reported by a key of every tenant) can be kept.
// Every row already there stays as it was: a client address's row of a tenant is still that
// tenant's count (a key of one tenant counts an address there), and merging an address's rows of
// several tenants would add up failures long forgotten (60 three days ago at acme and 1 ten
// minutes ago at beta are not 61 fresh ones). The platform scope starts empty. Undone, the rows
// of the platform scope go and the table references tenants again.
//
// The rebuild renames the table, makes the new one, copies and drops the old: it must be all or
// nothing, or a store whose migration died after the rename could never migrate again (no
// verification_throttles to rename). Migrations run in a transaction on both stores (SQLite's DDL
// is transactional, and the store's dialect says so to Kysely's migrator).
import { sql, Migrator, type Kysely, type KyselyPlugin, type Migration } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_ADDRESS_SCOPE } from "../../app/authenticators/verification-throttle.js";
import { at, tenantRecord } from "../contract/fixtures.js";
import type { Database } from "../kysely/database.js";
import { createTenantRepository } from "../kysely/tenant-repository.js";
import { createVerificationThrottleRepository } from "../kysely/verification-throttle-repository.js";
import { databasesUnderTest } from "../test-support/stores-under-test.js";
import { clientAddressThrottlesMigration } from "./0018-client-address-throttles.js";
import { migrateToLatest, migrations } from "./migrate-to-latest.js";

const NAME = "0018-client-address-throttles";

type Row = readonly [
  tenant: string,
  key: string,
  failures: number,
  nextAttemptAt: string | null,
  lockedAt: string | null,
  lockExpiresAt: string | null,
  lastFailureAt: string | null,
  lastSuccessAt: string | null,
];

/** Rows as the table held them before 0018. */
const BEFORE: readonly Row[] = [
  // 60 failures three days ago at acme, one ten minutes ago at beta: two counts, not 61.
  ["acme", "client:198.51.100.7", 60, at(100), null, null, at(90), null],
  ["beta", "client:198.51.100.7", 1, null, null, null, at(3 * 86_400), null],
  ["beta", "client:2001:db8:0:0::/64", 3, null, null, null, at(10), null],
  ["acme", "principal:alice", 100, at(500), at(400), at(4000), at(400), at(20)],
  ["beta", "principal:alice", 2, null, null, null, at(80), at(85)],
];

const insert = (db: Kysely<unknown>, row: Row) =>
  sql`insert into verification_throttles (tenant, throttle_key, consecutive_failures,
      next_attempt_at, locked_at, lock_expires_at, last_failure_at, last_success_at)
    values (${sql.join(row.map((value) => sql`${value}`))})`.execute(db);

/** In one order on both stores (their collations differ). */
const sorted = (rows: readonly Row[]): Row[] =>
  [...rows].sort((a, b) => (`${a[0]} ${a[1]}` < `${b[0]} ${b[1]}` ? -1 : 1));

const rowsOf = async (db: Kysely<unknown>): Promise<Row[]> => {
  const { rows } = await sql<{
    tenant: string;
    throttle_key: string;
    consecutive_failures: number;
    next_attempt_at: string | null;
    locked_at: string | null;
    lock_expires_at: string | null;
    last_failure_at: string | null;
    last_success_at: string | null;
  }>`select * from verification_throttles`.execute(db);
  return sorted(
    rows.map((r): Row => [
      r.tenant,
      r.throttle_key,
      r.consecutive_failures,
      r.next_attempt_at,
      r.locked_at,
      r.lock_expires_at,
      r.last_failure_at,
      r.last_success_at,
    ]),
  );
};

/** A plugin that makes every statement after a table's rename fail, as a crash there would. */
function dieAfterRename(): KyselyPlugin {
  let renamed = false;
  return {
    transformQuery({ node }) {
      if (renamed) throw new Error("the process died after the rename");
      if (node.kind === "AlterTableNode" && node.renameTo !== undefined) renamed = true;
      return node;
    },
    transformResult: ({ result }) => Promise.resolve(result),
  };
}

/** The migrations after 0018, undone and applied again around it. */
const LATER = Object.keys(migrations)
  .filter((name) => name > NAME)
  .sort();

function describeMigration(
  open: () => Promise<{ db: Kysely<Database>; close: () => Promise<void> }>,
) {
  let db: Kysely<Database>;
  let any: Kysely<unknown>;
  let close: () => Promise<void>;
  const down = async (migration: Migration) => {
    if (migration.down === undefined) throw new Error("a migration that cannot be undone");
    await migration.down(any);
  };
  const applied = async () =>
    (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows
      .map((r) => r.name)
      .filter((name) => name >= "0017");
  const tables = async () =>
    (await db.introspection.getTables())
      .map((t) => t.name)
      .filter((name) => name.startsWith("verification_throttles"));

  beforeAll(async () => {
    ({ db, close } = await open());
    any = db as Kysely<unknown>;
    await migrateToLatest(db);
    const tenants = createTenantRepository(db);
    await tenants.insert(tenantRecord("acme"));
    await tenants.insert(tenantRecord("beta"));
  });
  afterAll(() => close());

  // Each test starts from the store as 0017 left it, holding BEFORE (later migrations undone).
  beforeEach(async () => {
    for (const name of [...LATER].reverse()) {
      const later = migrations[name];
      if (later !== undefined) await down(later);
    }
    await down(clientAddressThrottlesMigration);
    for (const name of [NAME, ...LATER]) {
      await sql`delete from kysely_migration where name = ${name}`.execute(db);
    }
    await sql`delete from verification_throttles`.execute(db);
    for (const row of BEFORE) await insert(any, row);
  });

  it("copies every row unchanged, merging nothing, and starts the platform scope empty", async () => {
    // Before 0018 a row of no tenant is refused (the reference to tenants).
    await expect(
      insert(any, [CLIENT_ADDRESS_SCOPE, "client:192.0.2.1", 1, null, null, null, at(1), null]),
    ).rejects.toThrow();

    expect(await migrateToLatest(db)).toEqual([NAME, ...LATER]);
    expect(await rowsOf(any)).toEqual(sorted(BEFORE));
    const throttles = createVerificationThrottleRepository(db);
    expect(await throttles.get(CLIENT_ADDRESS_SCOPE, "client:198.51.100.7")).toBeUndefined();
    expect(await throttles.get("acme", "client:198.51.100.7")).toMatchObject({
      consecutiveFailures: 60,
    });
    expect(await throttles.get("beta", "client:198.51.100.7")).toMatchObject({
      consecutiveFailures: 1,
    });
    // The platform scope may now hold rows.
    await throttles.recordFailure(CLIENT_ADDRESS_SCOPE, "client:192.0.2.1", {
      at: at(200),
      forgetBefore: at(0),
    });
    expect(await throttles.get(CLIENT_ADDRESS_SCOPE, "client:192.0.2.1")).toMatchObject({
      consecutiveFailures: 1,
    });
    // The purge still finds rows through the last-activity index after the rebuild: beta's /64
    // only (every other row was active after at(60)).
    expect(await throttles.purge(at(60), 100)).toBe(1);
    expect(await throttles.get("beta", "client:2001:db8:0:0::/64")).toBeUndefined();

    // Undone, the platform scope's rows go and the reference to tenants returns.
    await down(clientAddressThrottlesMigration);
    expect(await rowsOf(any)).toEqual(
      sorted(BEFORE.filter(([, key]) => key !== "client:2001:db8:0:0::/64")),
    );
    await expect(
      insert(any, [CLIENT_ADDRESS_SCOPE, "client:192.0.2.1", 1, null, null, null, at(1), null]),
    ).rejects.toThrow();
    await clientAddressThrottlesMigration.up(any);
  });

  it("leaves the store as it was when the migration dies after the rename, and migrates later", async () => {
    const dying: Migration = {
      up: (db) => clientAddressThrottlesMigration.up(db.withPlugin(dieAfterRename())),
    };
    const migrator = new Migrator({
      db,
      provider: { getMigrations: () => Promise.resolve({ ...migrations, [NAME]: dying }) },
    });
    const { error, results } = await migrator.migrateToLatest();
    expect(String(error)).toContain("the process died after the rename");
    expect(results?.[0]).toEqual({ migrationName: NAME, direction: "Up", status: "Error" });

    expect(await applied()).toEqual(["0017-webauthn-attestation-root"]);
    expect(await tables()).toEqual(["verification_throttles"]);
    expect(await rowsOf(any)).toEqual(sorted(BEFORE));
    // Still the table of 0017: a row of no tenant is refused.
    await expect(
      insert(any, [CLIENT_ADDRESS_SCOPE, "client:192.0.2.1", 1, null, null, null, at(1), null]),
    ).rejects.toThrow();

    expect(await migrateToLatest(db)).toEqual([NAME, ...LATER]);
    expect(await applied()).toEqual(["0017-webauthn-attestation-root", NAME, ...LATER]);
    expect(await tables()).toEqual(["verification_throttles"]);
    expect(await rowsOf(any)).toEqual(sorted(BEFORE));
  });
}

for (const { name, skip, open } of await databasesUnderTest("Migration 0018")) {
  describe.skipIf(skip)(
    `migration 0018 on ${name}${skip ? " (skipped: no PostgreSQL reachable)" : ""}`,
    () => {
      describeMigration(open);
    },
  );
}
