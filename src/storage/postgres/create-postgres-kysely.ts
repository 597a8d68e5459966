import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "../kysely/database.js";
import { emitStoreWarning } from "../kysely/emit-store-warning.js";

/** A connection attempt (or a wait for a pooled one) fails after this rather than hang. */
export const CONNECT_TIMEOUT_MS = 10_000;

export function createPostgresKysely(connectionString: string): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString,
    application_name: "tenant-mfa",
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // An idle pooled connection that drops is discarded by the pool and replaced on next use;
  // unhandled, its error event would crash the process.
  pool.on("error", (error) => {
    emitStoreWarning("An idle PostgreSQL connection failed", error);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
