// Threat: the PostgreSQL suites' databases are cloned from one template migrated when the run
// begins; a template missing a migration of this code (built by an older checkout, or by a
// crashed run and cloned again) would have every suite pass against a schema the server never
// runs on. And the tests of migrating need a database no migration touched.
import pg from "pg";
import { afterEach, expect, it } from "vitest";
import { describeOnPostgres } from "../../../app/test-support/postgres-instances.js";
import { migrations } from "../../migrations/migrate-to-latest.js";
import { createTestDatabase, type TestDatabase } from "./test-database.js";

/** The tables of the database at `url`, and the migrations it records as applied, in order. */
async function schemaOf(url: string): Promise<{ tables: string[]; applied: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public'",
    );
    const names = tables.rows.map((row) => row.table_name);
    const applied = names.includes("kysely_migration")
      ? (await client.query<{ name: string }>("select name from kysely_migration order by name"))
          .rows
      : [];
    return { tables: names, applied: applied.map((row) => row.name) };
  } finally {
    await client.end();
  }
}

describeOnPostgres(
  {
    title: "a PostgreSQL test database",
    skippedTitle: "a PostgreSQL test database",
    tests: "tests of the PostgreSQL test databases",
  },
  () => {
    let database: TestDatabase | undefined;
    afterEach(async () => {
      await database?.drop();
      database = undefined;
    });

    it("holds every migration this code knows, applied, and no other", async () => {
      database = await createTestDatabase();
      expect((await schemaOf(database.url)).applied).toEqual(Object.keys(migrations));
    });

    it("holds no table at all when asked for an empty one", async () => {
      database = await createTestDatabase({ empty: true });
      expect(await schemaOf(database.url)).toEqual({ tables: [], applied: [] });
    });
  },
);
