import type { CompiledQuery, Kysely, QueryResult } from "kysely";
import type { Database } from "./database.js";
import { WORK_ENDED } from "./group-commit.js";

/** Runs a compiled query at once, synchronously, on the dialect's one connection. */
export type DirectExecution = (query: CompiledQuery) => QueryResult<unknown>;

/** What a dialect that allows direct execution provides. */
export interface DirectDialect {
  readonly execute: DirectExecution;
  /** Whether no query or transaction holds the connection at this moment. */
  connectionIdle(): boolean;
  /**
   * Runs a read on a second connection to the same database, which sees only committed rows:
   * a read outside any transaction then need not wait for the one that holds the main
   * connection. None for a database that a second connection cannot share (in memory).
   */
  readonly read?: DirectExecution;
}

/** Dialects that allow it, by their adapter (a transaction shares its database's). */
const allowed = new WeakMap<object, DirectDialect>();
/** Transactions under way whose queries may run directly. */
const open = new WeakMap<Kysely<Database>, DirectExecution>();
/**
 * Transactions whose work has settled. A lone one's queries Kysely would refuse, but a work of
 * a group commit (`group-commit.ts`) shares the group's transaction, still open.
 */
const ended = new WeakSet<Kysely<Database>>();

const refuseEnded: DirectExecution = () => {
  throw new Error(WORK_ENDED);
};

/**
 * Lets `db`, a dialect with one connection that a transaction holds from BEGIN to COMMIT
 * (SQLite), run the hot path's compiled queries (`queryTemplate`) on that connection directly:
 * Kysely hands the connection over for each query through several promises, a cost comparable
 * to SQLite running a lookup. A transaction's queries run directly while it is under way; a
 * query outside any transaction only while the connection is idle (run at once and
 * synchronously, nothing can begin meanwhile). Otherwise a transaction holding the connection
 * may have written rows that it has not committed, which a direct read on the same connection
 * would see: a read then runs on the dialect's read connection, which sees committed rows only,
 * and anything else (or a read where there is no such connection) waits its turn through
 * Kysely.
 */
export function allowDirectExecution(db: Kysely<Database>, dialect: DirectDialect): void {
  allowed.set(db.getExecutor().adapter, dialect);
}

/**
 * Runs `work` with `trx`'s queries direct where its dialect allows it, and only until `work`
 * settles: a query on `trx` after that is refused, as Kysely refuses one of a transaction that
 * has ended.
 */
export async function withDirectExecution<T>(
  trx: Kysely<Database>,
  work: () => Promise<T>,
): Promise<T> {
  const execute = allowed.get(trx.getExecutor().adapter)?.execute;
  if (execute === undefined) return work();
  open.set(trx, execute);
  try {
    return await work();
  } finally {
    open.delete(trx);
    ended.add(trx);
  }
}

/**
 * How to run a query of `db` directly now, if it may be: one that only `reads` may, outside a
 * transaction, run on the dialect's read connection while a transaction holds the main one.
 */
export function directExecution(db: Kysely<Database>, reads = false): DirectExecution | undefined {
  const inTransaction = open.get(db);
  if (inTransaction !== undefined) return inTransaction;
  if (ended.has(db)) return refuseEnded;
  if (db.isTransaction) return undefined;
  const dialect = allowed.get(db.getExecutor().adapter);
  if (dialect === undefined) return undefined;
  if (dialect.connectionIdle()) return dialect.execute;
  return reads ? dialect.read : undefined;
}
