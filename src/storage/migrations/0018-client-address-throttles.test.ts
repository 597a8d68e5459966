// Migration 0018 moves client-address throttle rows from their tenants to the platform-wide scope,
// so that an address counts once across tenants. An address's rows in several tenants must merge
// into one that holds all it did (failures added up, the latest backoff and times kept), or the
// migration itself would hand a spraying address a fresh start; principal rows must stay as they
// were, under their tenants. Undone, the address rows go and the table references tenants again.
import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_ADDRESS_SCOPE } from "../../app/authenticators/verification-throttle.js";
import { at, tenantRecord } from "../contract/fixtures.js";
import type { Database } from "../kysely/database.js";
import { createTenantRepository } from "../kysely/tenant-repository.js";
import { createVerificationThrottleRepository } from "../kysely/verification-throttle-repository.js";
import { databasesUnderTest } from "../test-support/stores-under-test.js";
import { clientAddressThrottlesMigration } from "./0018-client-address-throttles.js";
import { migrateToLatest } from "./migrate-to-latest.js";

function describeMigration(
  open: () => Promise<{ db: Kysely<Database>; close: () => Promise<void> }>,
) {
  let db: Kysely<Database>;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await open());
    await migrateToLatest(db);
  });
  afterAll(() => close());

  it("merges an address's rows of every tenant into the platform's, and keeps principal rows", async () => {
    const tenants = createTenantRepository(db);
    await tenants.insert(tenantRecord("acme"));
    await tenants.insert(tenantRecord("beta"));
    const any = db as Kysely<unknown>;
    const down = async () => {
      if (clientAddressThrottlesMigration.down === undefined) {
        throw new Error("a migration that cannot be undone");
      }
      await clientAddressThrottlesMigration.down(any);
    };
    await down();
    const insert = (
      tenant: string,
      key: string,
      failures: number,
      lastFailure: string,
      nextAttempt: string | null,
    ) =>
      sql`insert into verification_throttles (tenant, throttle_key, consecutive_failures,
          next_attempt_at, last_failure_at, last_success_at)
        values (${tenant}, ${key}, ${failures}, ${nextAttempt}, ${lastFailure}, null)`.execute(db);
    await insert("acme", "client:198.51.100.7", 12, at(100), null);
    await insert("beta", "client:198.51.100.7", 15, at(50), at(200));
    await insert("beta", "client:2001:db8:0:0::/64", 3, at(10), null);
    await insert("acme", "principal:alice", 4, at(90), null);
    await insert("beta", "principal:alice", 2, at(80), null);
    // Before 0018 a row of an unknown tenant is refused (the reference to tenants).
    await expect(insert("*", "client:192.0.2.1", 1, at(1), null)).rejects.toThrow();

    await clientAddressThrottlesMigration.up(any);
    const throttles = createVerificationThrottleRepository(db);
    expect(await throttles.get(CLIENT_ADDRESS_SCOPE, "client:198.51.100.7")).toEqual({
      tenant: CLIENT_ADDRESS_SCOPE,
      key: "client:198.51.100.7",
      consecutiveFailures: 27,
      nextAttemptAt: at(200),
      lastFailureAt: at(100),
    });
    expect(await throttles.get(CLIENT_ADDRESS_SCOPE, "client:2001:db8:0:0::/64")).toMatchObject({
      consecutiveFailures: 3,
    });
    expect(await throttles.get("acme", "client:198.51.100.7")).toBeUndefined();
    expect(await throttles.get("beta", "client:198.51.100.7")).toBeUndefined();
    expect([
      (await throttles.get("acme", "principal:alice"))?.consecutiveFailures,
      (await throttles.get("beta", "principal:alice"))?.consecutiveFailures,
    ]).toEqual([4, 2]);
    // The purge still finds rows through the last-activity index after the rebuild.
    expect(await throttles.purge(at(60), 100)).toBe(1);

    await down();
    const rows = await sql<{ tenant: string; throttle_key: string }>`select tenant, throttle_key
      from verification_throttles order by tenant, throttle_key`.execute(db);
    expect(rows.rows.map((r) => [r.tenant, r.throttle_key])).toEqual([
      ["acme", "principal:alice"],
      ["beta", "principal:alice"],
    ]);
    await clientAddressThrottlesMigration.up(any);
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
