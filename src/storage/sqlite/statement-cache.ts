import type Sqlite from "better-sqlite3";
import type { SqliteDatabase, SqliteStatement } from "kysely";

/** Distinct statements kept; the queries of the repositories are a few dozen shapes. */
const MAX_STATEMENTS = 500;

/**
 * The database as Kysely's SQLite driver sees it, with each statement prepared once: the driver
 * prepares on every query, which SQLite compiles afresh each time. Kysely's queries bind every
 * value as a parameter, so the same SQL text recurs and a statement can be reused. SQLite itself
 * recompiles a cached statement after a schema change (sqlite3_prepare_v2), so migrations are
 * safe. Statements are used one at a time: the driver serialises queries on its one connection.
 */
export function cacheStatements(database: Sqlite.Database): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        // A query built with values inlined would make every text distinct: start over rather
        // than grow without bound.
        if (statements.size >= MAX_STATEMENTS) statements.clear();
        statement = database.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      database.close();
    },
  };
}
