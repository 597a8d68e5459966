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
