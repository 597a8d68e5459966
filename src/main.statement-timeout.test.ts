// Threat: a statement that never ends (a pathological plan, a table scan grown with the data, a
// server starved of I/O) held its pooled connection for as long as it ran: lock_timeout bounds
// only lock waits, and idle_in_transaction_session_timeout only a session that sends nothing.
// Enough of them and the pool is gone, every request queued behind it (DESIGN invariant 8:
// never a hang). The serving pool now gives each statement `store.statementTimeoutMs` (default
// 30 s), after which PostgreSQL cancels it (SQLSTATE 57014) and its request answers `503
// store.unavailable`, never a 500. Migrations, on a pool of their own, and the commands an
// operator runs (`audit verify` reads every chain) have none.
import pg from "pg";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeOnPostgres } from "./app/test-support/postgres-instances.js";
import { runCli } from "./cli/test-support/run-cli.js";
import { loadConfig } from "./config/load-config.js";
import { startServer } from "./main.js";
import {
  createPostgresKysely,
  LOCK_TIMEOUT_MS,
} from "./storage/postgres/create-postgres-kysely.js";
import {
  createTestDatabase,
  untilWaitingOnLock,
  type TestDatabase,
} from "./storage/postgres/test-support/test-database.js";

describeOnPostgres(
  {
    title: "a PostgreSQL statement that runs too long",
    skippedTitle: "a PostgreSQL statement that runs too long",
    tests: "statement timeout tests",
  },
  () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
      expect((await runCli(["migrate", "--db", database.url])).exitCode).toBe(0);
    });
    afterAll(() => database.drop());

    const setting = async (db: ReturnType<typeof createPostgresKysely>) =>
      (
        await sql<{ value: string }>`select current_setting('statement_timeout') as value`.execute(
          db,
        )
      ).rows[0]?.value;

    it("is cancelled on the serving pool after its timeout; the migrations' pool has none", async () => {
      const serving = createPostgresKysely(database.url, { statementTimeoutMs: 200 });
      const unbounded = createPostgresKysely(database.url);
      const migrations = createPostgresKysely(database.url, { waitForLocks: true });
      try {
        expect(await setting(serving)).toBe("200ms");
        expect(await setting(unbounded)).toBe("0");
        expect(await setting(migrations)).toBe("0");
        const started = Date.now();
        await expect(sql`select pg_sleep(5)`.execute(serving)).rejects.toMatchObject({
          code: "57014",
        });
        expect(Date.now() - started).toBeLessThan(2_000);
        // The connection it ran on is still good.
        expect((await sql<{ one: number }>`select 1 as one`.execute(serving)).rows).toEqual([
          { one: 1 },
        ]);
      } finally {
        await serving.destroy();
        await unbounded.destroy();
        await migrations.destroy();
      }
    });

    it("answers a request whose statement is cancelled with 503 store.unavailable, long before the lock timeout", async () => {
      const config = {
        ...loadConfig({
          env: { TENANT_MFA_STORE_STATEMENT_TIMEOUT_MS: "300" },
          overrides: { db: database.url },
        }),
        port: 0,
        logLevel: "silent" as const,
      };
      let secret = "";
      const running = await startServer(config, {
        handleSignals: false,
        seed: async (opened) => {
          secret = (await opened.bootstrap({ name: "test", force: true })).secret;
        },
      });
      const stuck = new pg.Client({ connectionString: database.url });
      try {
        const headers = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
        const created = await fetch(`${running.url}/v1/tenants`, {
          method: "POST",
          headers,
          body: JSON.stringify({ id: "acme", name: "Acme" }),
        });
        expect(created.status).toBe(201);
        await stuck.connect();
        await stuck.query("begin");
        await stuck.query("lock table tenants in access exclusive mode");
        const started = Date.now();
        const answer = await fetch(`${running.url}/v1/tenants/acme`, { headers });
        const waited = Date.now() - started;
        expect(answer.status).toBe(503);
        expect(answer.headers.get("retry-after")).not.toBeNull();
        expect(await answer.json()).toMatchObject({ code: "store.unavailable" });
        expect(waited).toBeLessThan(LOCK_TIMEOUT_MS / 2);
      } finally {
        await stuck.end();
        await running.close();
      }
    }, 30_000);

    it("does not cut short `audit verify`, which waits out a lock longer than the timeout", async () => {
      const stuck = new pg.Client({ connectionString: database.url });
      await stuck.connect();
      try {
        await stuck.query("begin");
        await stuck.query("lock table audit_events in access exclusive mode");
        const verifying = runCli(["audit", "verify", "--db", database.url], {
          TENANT_MFA_STORE_STATEMENT_TIMEOUT_MS: "200",
        });
        await untilWaitingOnLock(database.name);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await stuck.query("rollback");
        const verified = await verifying;
        expect([verified.exitCode, verified.stderr]).toEqual([0, ""]);
        expect(verified.stdout).toMatch(/^ok: /);
      } finally {
        await stuck.end();
      }
    }, 30_000);
  },
);
