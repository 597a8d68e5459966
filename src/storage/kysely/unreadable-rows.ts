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

/** The tables whose rows each belong to one tenant, named in their `tenant` column. */
type TenantTable = {
  [T in keyof Database]: Database[T] extends { tenant: string } ? T : never;
}[keyof Database];

/** Which rows {@link findUnreadableRowsOf} reads, and how many at a time. */
export interface UnreadableRowsOptions<T extends keyof Database> {
  /** Only this tenant's rows (of a table that names its tenant); every row when not given. */
  readonly tenant?: T extends TenantTable ? string : never;
  readonly limit?: number;
}

/**
 * Every row of `table` that `read` (the repository's row-to-record mapping) refuses as holding
 * text that is not JSON, in the order of its `key` columns, only `tenant`'s when given: read
 * `limit` rows at a time, each page after the last key of the one before, so that only the
 * damaged rows are held, never the table.
 */
export async function findUnreadableRowsOf<T extends keyof Database>(
  db: Kysely<Database>,
  table: T,
  key: readonly (keyof Selectable<Database[T]> & string)[],
  read: (row: Selectable<Database[T]>) => unknown,
  { tenant, limit = UNREADABLE_PAGE }: UnreadableRowsOptions<T> = {},
): Promise<DamagedRow[]> {
  const columns = sql.join(key.map((column) => sql.ref(column)));
  // One tenant's rows are the only ones read for it: another's, damaged, are never named to it.
  const ofTenant = tenant === undefined ? [] : [sql`${sql.ref("tenant")} = ${tenant}`];
  const found: DamagedRow[] = [];
  let after: Selectable<Database[T]> | undefined;
  for (;;) {
    const last = after;
    const conditions =
      last === undefined
        ? ofTenant
        : [...ofTenant, sql`(${columns}) > (${sql.join(key.map((column) => last[column]))})`];
    const where = conditions.length === 0 ? sql`` : sql`WHERE ${sql.join(conditions, sql` AND `)}`;
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
