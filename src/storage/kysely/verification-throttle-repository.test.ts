// The purge of verification throttles runs beside verifications every minute on every instance:
// it must find its rows through the last-activity index (migration 0010), not by reading the
// whole table, which on SQLite would hold the one write lock for as long as the scan takes.
import { CompiledQuery, sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import { createPostgresKysely } from "../postgres/create-postgres-kysely.js";
import {
  createTestDatabase,
  findUnreachableReason,
  type TestDatabase,
} from "../postgres/test-support/test-database.js";
import { createSqliteKysely, IN_MEMORY } from "../sqlite/create-sqlite-kysely.js";
import type { Database } from "./database.js";
import { purgeableRows } from "./verification-throttle-repository.js";

const INDEX = "verification_throttles_last_activity";
const BEFORE = "2030-01-01T00:00:00.000Z";

describe("the verification throttles' purge on SQLite", () => {
  let db: Kysely<Database>;
  beforeAll(async () => {
    db = createSqliteKysely(IN_MEMORY);
    await migrateToLatest(db);
  });
  afterAll(() => db.destroy());

  it("finds its rows through the last-activity index", async () => {
    const query = purgeableRows(db, BEFORE, 1000).compile();
    const plan = await db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`EXPLAIN QUERY PLAN ${query.sql}`, [...query.parameters]),
    );
    const details = plan.rows.map((row) => row.detail).join("\n");
    expect(details).toContain(`USING INDEX ${INDEX}`);
    expect(details).not.toMatch(/SCAN verification_throttles(?! USING)/);
  });
});

const unreachable = await findUnreachableReason();
const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";

// Outside CI, without a PostgreSQL server, the suite is skipped loudly and says why; CI runs it
// whatever happens, so that an unreachable server fails there.
const skipPostgres = unreachable !== undefined && !inCi;
if (skipPostgres) {
  console.warn(`\n*** Throttle purge on PostgreSQL NOT tested: ${unreachable} ***\n`);
}

describe.skipIf(skipPostgres)(
  skipPostgres
    ? `the verification throttles' purge on PostgreSQL (skipped: no PostgreSQL reachable: ${unreachable ?? ""})`
    : "the verification throttles' purge on PostgreSQL",
  () => {
    let database: TestDatabase;
    let db: Kysely<Database>;
    beforeAll(async () => {
      database = await createTestDatabase();
      db = createPostgresKysely(database.url);
      await migrateToLatest(db);
    });
    afterAll(async () => {
      await db.destroy();
      await database.drop();
    });

    it("can find its rows through the last-activity index", async () => {
      // The table is empty, so the planner would read it whole; forbidding that shows whether
      // the index matches the query's expression at all.
      const plan = await db.transaction().execute(async (trx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        const query = purgeableRows(trx, BEFORE, 1000).compile();
        return trx.executeQuery<{ "QUERY PLAN": string }>(
          CompiledQuery.raw(`EXPLAIN ${query.sql}`, [...query.parameters]),
        );
      });
      const text = plan.rows.map((row) => row["QUERY PLAN"]).join("\n");
      expect(text).toContain(INDEX);
      expect(text).toContain("LockRows");
    });
  },
);
