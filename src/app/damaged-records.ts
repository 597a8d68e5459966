import { AppError } from "./errors.js";
import { rowKey, UnreadableRecord, type DamagedRow } from "./ports.js";

/** `row`, as `audit verify` names a damaged row to an operator (never anything it holds). */
export function describeDamagedRow(row: DamagedRow): string {
  return `${row.table} row ${rowKey(row)}: its stored text is not JSON (altered outside the service)`;
}

/** The tables whose rows `tenant-mfa audit verify` reads, and names when damaged. */
export const VERIFIED_TABLES = [
  "api_keys",
  "tenants",
  "mandate_versions",
  "signing_keys",
  "policy_versions",
  "idps",
  "idp_observations",
  "webauthn_credentials",
  "webauthn_settings",
] as const satisfies readonly DamagedRow["table"][];
const AUDITED_TABLES: ReadonlySet<DamagedRow["table"]> = new Set(VERIFIED_TABLES);

/**
 * `store.record_damaged`, naming each of `rows` (in `details.damaged` too, as `audit verify`
 * lists them) and saying what is `refused` until they are restored. Not `store.unavailable`: the
 * store answers, one of its rows was altered outside the service, and retrying will not help.
 * `audit verify` is pointed to only when it reads the tables of all of `rows`.
 */
export function damagedRowsError(
  rows: readonly DamagedRow[],
  refused = `Whatever reads ${rows.length === 1 ? "it" : "them"} is refused`,
): AppError {
  const verify = rows.every((row) => AUDITED_TABLES.has(row.table))
    ? "; `tenant-mfa audit verify` names every damaged row"
    : "";
  return new AppError(
    "store.record_damaged",
    `DAMAGED: ${rows.map(describeDamagedRow).join("; ")}. ${refused} until each damaged row is restored from a backup${verify}.`,
    { damaged: rows },
  );
}

/** `audit.chain_damaged`, naming the event of `chain` at `seq` that cannot be read. */
export function chainDamagedError(chain: string, seq: number): AppError {
  return new AppError(
    "audit.chain_damaged",
    `Event ${String(seq)} of ${chain} cannot be read (not JSON as the store writes it): the chain was altered outside the service. Run \`tenant-mfa audit verify\`.`,
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
