import type { Compilable, CompiledQuery, Kysely, QueryResult } from "kysely";
import type { Database } from "./database.js";
import { directExecution } from "./direct-execution.js";

/** Stand-ins for the values, unlike any value a caller passes. */
const placeholder = (index: number): string => `\u0000tenant-mfa:${String(index)}\u0000`;

interface Compiled {
  readonly query: CompiledQuery;
  /** For each parameter of the compiled query, which argument fills it (-1: keep the constant). */
  readonly slots: readonly number[];
}

/**
 * A query of the hot path built and compiled once per dialect, then run with new values bound
 * to the same SQL. Kysely builds and compiles a query on every call, a cost comparable to
 * SQLite running it; with the statement cache the database side is prepared once too, and on
 * SQLite it runs on the connection directly when it may (`direct-execution.ts`). `build`
 * receives placeholder strings in place of its arguments and must use each as a bound value
 * (never in an identifier, never transformed), which Kysely's `where` and `values` do.
 */
export function queryTemplate<Row, Args extends readonly unknown[]>(
  arity: Args["length"],
  build: (db: Kysely<Database>, ...values: never[]) => Compilable<Row>,
): (db: Kysely<Database>, ...args: Args) => Promise<QueryResult<Row>> {
  // Keyed by the dialect's adapter: a transaction shares its database's.
  const compiled = new WeakMap<object, Compiled>();
  const placeholders = Array.from({ length: arity }, (_, index) => placeholder(index));
  return (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let entry = compiled.get(adapter);
    if (entry === undefined) {
      // Typed `never`, the placeholders fit any column; they are only ever bound, never read.
      const query = build(db, ...(placeholders as never[])).compile();
      const slots = query.parameters.map((value) => placeholders.indexOf(value as string));
      entry = { query, slots };
      compiled.set(adapter, entry);
    }
    const { query, slots } = entry;
    const parameters = slots.map((slot, index) =>
      slot < 0 ? query.parameters[index] : args[slot],
    );
    const direct = directExecution(db, query.query.kind === "SelectQueryNode");
    if (direct === undefined) return db.executeQuery<Row>({ ...query, parameters });
    // The executor's throw (a failing statement) rejects, as it does through Kysely.
    return new Promise((resolve) => {
      resolve(direct({ ...query, parameters }) as QueryResult<Row>);
    });
  };
}
