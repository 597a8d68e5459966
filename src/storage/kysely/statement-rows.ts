import type { Kysely } from "kysely";
import type { Database } from "./database.js";
import { directExecution } from "./direct-execution.js";

/**
 * The bound parameters one statement may carry on every database we run on: SQLite's limit
 * (SQLITE_MAX_VARIABLE_NUMBER, 32766 since 3.32, and in better-sqlite3's build) is the lower;
 * PostgreSQL's protocol allows 65535.
 */
export const MAX_PARAMETERS = 32_766;

/**
 * Splits rows for a multi-row INSERT into runs that each fit one statement: one run, unless
 * there are more rows than one statement can carry. Every row binds one value per column, and
 * all have the same columns.
 */
export function chunkRows<T extends object>(rows: readonly T[]): (readonly T[])[] {
  const columns = rows[0] === undefined ? 1 : Object.keys(rows[0]).length;
  const size = Math.floor(MAX_PARAMETERS / columns);
  if (rows.length <= size) return [rows];
  const chunks: (readonly T[])[] = [];
  for (let start = 0; start < rows.length; start += size) {
    chunks.push(rows.slice(start, start + size));
  }
  return chunks;
}

/**
 * Inserts `rows` the cheaper way for where `db`'s statements run. Where they run directly on the
 * connection (SQLite, `direct-execution.ts`), a prepared single-row INSERT run once per row
 * (`one`) costs less than Kysely building and compiling a multi-row one afresh for each batch
 * size; elsewhere (PostgreSQL) one multi-row INSERT per chunk (`many`) saves round trips.
 */
export async function insertRows<T extends object>(
  db: Kysely<Database>,
  rows: readonly T[],
  one: (row: T) => Promise<unknown>,
  many: (rows: readonly T[]) => Promise<unknown>,
): Promise<void> {
  // Inside a transaction only: outside one, each row would commit on its own.
  if (db.isTransaction && directExecution(db) !== undefined) {
    for (const row of rows) await one(row);
    return;
  }
  for (const chunk of chunkRows(rows)) await many(chunk);
}
