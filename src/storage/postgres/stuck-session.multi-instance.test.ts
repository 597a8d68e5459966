// Threat: an instance freezes, or loses its network, in the middle of a transaction that holds a
// lock (a tenant's row, a chain's head). Every other instance's request that needs the lock would
// wait for ever: no answer, and each stuck request keeps a pooled connection until the pool is
// gone (DESIGN invariant 8: never a hang). A statement now gives up on a lock after
// LOCK_TIMEOUT_MS (the request answers store.unavailable, 503), and the server ends a session
// idle in its transaction, which releases what it held. Migrations, which may wait for another
// instance's, keep unbounded lock waits on a pool of their own.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { transact } from "../../app/context.js";
import { openHarness, type Harness } from "../../app/test-support/harness.js";
import {
  describeOnPostgres,
  openPostgresDatabase,
} from "../../app/test-support/postgres-instances.js";
import { openStore } from "../open-store.js";
import {
  createPostgresKysely,
  IDLE_IN_TRANSACTION_TIMEOUT_MS,
  LOCK_TIMEOUT_MS,
} from "./create-postgres-kysely.js";
import type { TestDatabase } from "./test-support/test-database.js";
import { sql } from "kysely";

describeOnPostgres(
  {
    title: "a PostgreSQL session that holds a lock and answers nothing",
    skippedTitle: "a PostgreSQL session that holds a lock and answers nothing",
    tests: "stuck-session tests",
  },
  () => {
    let database: TestDatabase;
    let h: Harness;
    beforeAll(async () => {
      database = await openPostgresDatabase();
      h = await openHarness({ store: await openStore(database.url) });
      await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    });
    afterAll(async () => {
      await h.close();
      await database.drop();
    });

    it("fails a request that waits on its lock with store.unavailable instead of waiting for ever", async () => {
      const stuck = new pg.Client({ connectionString: database.url });
      await stuck.connect();
      try {
        await stuck.query("begin");
        await stuck.query("lock table tenants in access exclusive mode");
        const started = Date.now();
        const read = transact(h.context, (r) => r.tenants.get("acme"));
        await expect(read).rejects.toMatchObject({ code: "store.unavailable" });
        const waited = Date.now() - started;
        expect(waited).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS - 1_000);
      } finally {
        await stuck.end();
      }
      // The lock gone, the same request succeeds: the failure cost no connection.
      expect(await transact(h.context, (r) => r.tenants.get("acme"))).toMatchObject({
        id: "acme",
      });
    }, 30_000);

    it("has the server end sessions idle in a transaction, and lets migrations wait for locks", async () => {
      const service = createPostgresKysely(database.url);
      const migrations = createPostgresKysely(database.url, { waitForLocks: true });
      try {
        const setting = async (db: typeof service, name: string) =>
          (await sql<{ value: string }>`select current_setting(${name}) as value`.execute(db))
            .rows[0]?.value;
        expect(await setting(service, "lock_timeout")).toBe(`${String(LOCK_TIMEOUT_MS / 1000)}s`);
        expect(await setting(migrations, "lock_timeout")).toBe("0");
        for (const db of [service, migrations]) {
          expect(await setting(db, "idle_in_transaction_session_timeout")).toBe(
            `${String(IDLE_IN_TRANSACTION_TIMEOUT_MS / 1000)}s`,
          );
        }
      } finally {
        await service.destroy();
        await migrations.destroy();
      }
    });
  },
);
