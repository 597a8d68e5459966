import { AppError } from "./errors.js";
import { UnreadableRecord, type DamagedRow } from "./ports.js";

/** `row`, as `audit verify` names a damaged row to an operator (never anything it holds). */
export function describeDamagedRow(row: DamagedRow): string {
  const version = row.table === "mandate_versions" ? ` version ${String(row.version)}` : "";
  return `${row.table} row ${row.id}${version}: its stored text is not JSON (altered outside the service)`;
}

/**
 * `store.record_damaged`, naming each of `rows` (in `details.damaged` too, as `audit verify`
 * lists them) and saying what is `refused` until they are restored. Not `store.unavailable`: the
 * store answers, one of its rows was altered outside the service, and retrying will not help.
 */
export function damagedRowsError(
  rows: readonly DamagedRow[],
  refused = `Whatever reads ${rows.length === 1 ? "it" : "them"} is refused`,
): AppError {
  return new AppError(
    "store.record_damaged",
    `DAMAGED: ${rows.map(describeDamagedRow).join("; ")}. ${refused} until each damaged row is restored from a backup; \`tenant-mfa audit verify\` names every damaged row.`,
    { damaged: rows },
  );
}

/** `audit.chain_damaged`, naming the event of `chain` at `seq` that cannot be read. */
export function chainDamagedError(chain: string, seq: number): AppError {
  return new AppError(
    "audit.chain_damaged",
    `Event ${String(seq)} of ${chain} cannot be read (its stored text is not JSON): the chain was altered outside the service. Run \`tenant-mfa audit verify\`.`,
    { chain, seq },
  );
}

/**
 * The typed problem of a record a store refused to read ({@link UnreadableRecord}): a row,
 * `store.record_damaged`; an audit event, `audit.chain_damaged`; a decision receipt,
 * `receipt.tampered`, as reading the receipt answers it.
 */
export function unreadableRecordError({ record }: UnreadableRecord): AppError {
  switch (record.kind) {
    case "row": {
      const { kind: _kind, ...row } = record;
      return damagedRowsError([row]);
    }
    case "audit_event":
      return chainDamagedError(record.chain, record.seq);
    case "receipt":
      return new AppError("receipt.tampered", undefined, { decision: record.id });
  }
}

/**
 * What `read` answers, read whole: when it meets a row that is not JSON, `store.record_damaged`
 * naming every such row `listUnreadable` finds (the one met, when it finds none), so that the
 * operator restores them all at once rather than one run at a time. `refused` as
 * {@link damagedRowsError} says it.
 */
export async function readNamingDamagedRows<T>(
  read: () => Promise<T>,
  listUnreadable: () => Promise<readonly DamagedRow[]>,
  refused?: string,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof UnreadableRecord) || error.record.kind !== "row") throw error;
    const { kind: _kind, ...met } = error.record;
    const rows = await listUnreadable();
    throw damagedRowsError(rows.length === 0 ? [met] : rows, refused);
  }
}
