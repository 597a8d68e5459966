import type { Kysely } from "kysely";
import { describe, it } from "vitest";
import type { Store } from "../../app/ports.js";
import type { Database } from "../kysely/database.js";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import { openStore } from "../open-store.js";
import { createPostgresKysely } from "../postgres/create-postgres-kysely.js";
import {
  createTestDatabase,
  findUnreachableReason,
} from "../postgres/test-support/test-database.js";
import { createSqliteKysely, IN_MEMORY } from "../sqlite/create-sqlite-kysely.js";

/** A store a suite runs on: opened afresh per use, with what drops it after. */
export interface StoreUnderTest {
  readonly name: "SQLite" | "PostgreSQL";
  /** True only outside CI without a reachable PostgreSQL: CI always runs both. */
  readonly skip: boolean;
  readonly open: () => Promise<[Store, () => Promise<void>]>;
}

/**
 * Whether the PostgreSQL half of a suite is skipped: only outside CI without a reachable server,
 * with a loud notice naming `what` went untested.
 */
async function skipsPostgres(what: string): Promise<boolean> {
  const unreachable = await findUnreachableReason();
  const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
  const skip = unreachable !== undefined && !inCi;
  if (skip) console.warn(`\n*** ${what} on PostgreSQL NOT tested: ${unreachable ?? ""} ***\n`);
  return skip;
}

/**
 * The two stores a suite that must behave alike on both runs on: in-memory SQLite, and a
 * PostgreSQL database made for it and dropped after. Outside CI, without a PostgreSQL server, the
 * PostgreSQL half is skipped, with a loud notice naming `what` went untested.
 */
export async function storesUnderTest(what: string): Promise<readonly StoreUnderTest[]> {
  const skipPostgres = await skipsPostgres(what);
  return [
    {
      name: "SQLite",
      skip: false,
      open: async () => [await openStore("sqlite::memory:"), () => Promise.resolve()],
    },
    {
      name: "PostgreSQL",
      skip: skipPostgres,
      open: async () => {
        const database = await createTestDatabase();
        return [await openStore(database.url), () => database.drop()];
      },
    },
  ];
}

/** A bare database (no store, no migrations run) a schema test runs on. */
export interface DatabaseUnderTest {
  readonly name: "SQLite" | "PostgreSQL";
  readonly skip: boolean;
  readonly open: () => Promise<{ db: Kysely<Database>; close: () => Promise<void> }>;
}

/** As {@link storesUnderTest}, for tests of migrations that need the bare Kysely database. */
export async function databasesUnderTest(what: string): Promise<readonly DatabaseUnderTest[]> {
  const skipPostgres = await skipsPostgres(what);
  return [
    {
      name: "SQLite",
      skip: false,
      open: () => {
        const db = createSqliteKysely(IN_MEMORY);
        return Promise.resolve({ db, close: () => db.destroy() });
      },
    },
    {
      name: "PostgreSQL",
      skip: skipPostgres,
      open: async () => {
        const database = await createTestDatabase({ empty: true });
        const db = createPostgresKysely(database.url);
        return {
          db,
          close: async () => {
            await db.destroy();
            await database.drop();
          },
        };
      },
    },
  ];
}

/**
 * A migration's test, once on each of {@link databasesUnderTest} (PostgreSQL skipped outside CI
 * where none is reachable, saying so in the title): `test` gets a fresh database migrated to the
 * latest schema, and undoes or redoes the migration it is about itself. `what` names the
 * migration, as in "migration 0025 (binding issuer)".
 */
export async function itOnMigratedDatabases(
  what: string,
  should: string,
  test: (db: Kysely<Database>) => Promise<void>,
): Promise<void> {
  for (const { name, skip, open } of await databasesUnderTest(what)) {
    describe.skipIf(skip)(
      `${what} on ${name}${skip ? " (skipped: no PostgreSQL reachable)" : ""}`,
      () => {
        it(should, async () => {
          const { db, close } = await open();
          try {
            await migrateToLatest(db);
            await test(db);
          } finally {
            await close();
          }
        });
      },
    );
  }
}
