import { sql, type Kysely, type Selectable } from "kysely";
import { UnreadableRecord, type DamagedRow } from "../../app/ports.js";
import type { Database } from "./database.js";
import { literalLimit } from "./page.js";

/**
 * The rows of `rows` that `read` (a repository's row-to-record mapping) refuses as holding text
 * that is not JSON, in the order given: every damaged row of a table, where mapping them all at
 * once stops at the first.
 */
export function findUnreadableRows<Row>(
  rows: readonly Row[],
  read: (row: Row) => unknown,
): DamagedRow[] {
  return rows.flatMap((row) => {
    try {
      read(row);
      return [];
    } catch (error) {
      if (!(error instanceof UnreadableRecord) || error.record.kind !== "row") throw error;
      const { kind: _kind, ...damaged } = error.record;
      return [damaged];
    }
  });
}

/** How many rows {@link findUnreadableRowsOf} reads at a time. */
const UNREADABLE_PAGE = 1000;

/**
 * Every row of `table` that `read` (the repository's row-to-record mapping) refuses as holding
 * text that is not JSON, in the order of its `key` columns: read `limit` rows at a time, each page
 * after the last key of the one before, so that only the damaged rows are held, never the table.
 */
export async function findUnreadableRowsOf<T extends keyof Database>(
  db: Kysely<Database>,
  table: T,
  key: readonly (keyof Selectable<Database[T]> & string)[],
  read: (row: Selectable<Database[T]>) => unknown,
  limit = UNREADABLE_PAGE,
): Promise<DamagedRow[]> {
  const columns = sql.join(key.map((column) => sql.ref(column)));
  const found: DamagedRow[] = [];
  let after: Selectable<Database[T]> | undefined;
  for (;;) {
    const last = after;
    const where =
      last === undefined
        ? sql``
        : sql`WHERE (${columns}) > (${sql.join(key.map((column) => last[column]))})`;
    const { rows } = await sql<
      Selectable<Database[T]>
    >`SELECT * FROM ${sql.table(table)} ${where} ORDER BY ${columns} LIMIT ${literalLimit(limit)}`.execute(
      db,
    );
    found.push(...findUnreadableRows(rows, read));
    after = rows.at(-1);
    if (rows.length < limit || after === undefined) return found;
  }
}
