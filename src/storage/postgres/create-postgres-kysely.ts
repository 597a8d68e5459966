import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "../kysely/database.js";
import { emitStoreWarning } from "../kysely/emit-store-warning.js";

/** A connection attempt (or a wait for a pooled one) fails after this rather than hang. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A pool of connections to the database; with `readOnly`, every transaction on them is read-only
 * and the server refuses any write (DDL included).
 */
export function createPostgresKysely(
  connectionString: string,
  options: { readOnly?: boolean } = {},
): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString,
    application_name: "tenant-mfa",
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  if (options.readOnly === true) {
    // Queued before any query of the connection's first user. A connection it fails on is
    // ended, failing what was queued behind it rather than letting it run writable.
    pool.on("connect", (client) => {
      client.query("set default_transaction_read_only = on").catch(() => {
        void client.end();
      });
    });
  }
  // An idle pooled connection that drops is discarded by the pool and replaced on next use;
  // unhandled, its error event would crash the process.
  pool.on("error", (error) => {
    emitStoreWarning("An idle PostgreSQL connection failed", error);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
