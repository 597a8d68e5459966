import { UnreadableRecord, type DamagedRow } from "../../app/ports.js";

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
