import type { CompiledQuery, Kysely, QueryResult } from "kysely";
import type { Database } from "./database.js";

/** Runs a compiled query at once, synchronously, on the dialect's one connection. */
export type DirectExecution = (query: CompiledQuery) => QueryResult<unknown>;

/** Dialects that allow it, by their adapter (a transaction shares its database's). */
const allowed = new WeakMap<object, DirectExecution>();
/** Transactions under way whose queries may run directly. */
const open = new WeakMap<Kysely<Database>, DirectExecution>();

/**
 * Lets transactions of `db`, a dialect whose transaction holds its one connection from BEGIN to
 * COMMIT (SQLite), run the hot path's compiled queries (`queryTemplate`) on that
 * connection directly: Kysely hands the connection over for each query through several
 * promises, a cost comparable to SQLite running a lookup. Queries outside a transaction keep
 * Kysely's way: the connection may be held by another transaction, whose uncommitted rows a
 * direct read would see.
 */
export function allowDirectExecution(db: Kysely<Database>, execute: DirectExecution): void {
  allowed.set(db.getExecutor().adapter, execute);
}

/**
 * Runs `work` with `trx`'s queries direct where its dialect allows it, and only until `work`
 * settles: a query on `trx` after that goes through Kysely, which refuses a transaction that
 * has ended.
 */
export async function withDirectExecution<T>(
  trx: Kysely<Database>,
  work: () => Promise<T>,
): Promise<T> {
  const execute = allowed.get(trx.getExecutor().adapter);
  if (execute === undefined) return work();
  open.set(trx, execute);
  try {
    return await work();
  } finally {
    open.delete(trx);
  }
}

/** How to run a query of `db` directly, if `db` is a transaction that may. */
export const directExecution = (db: Kysely<Database>): DirectExecution | undefined => open.get(db);
