import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "../kysely/database.js";
import { emitStoreWarning } from "../kysely/emit-store-warning.js";
import { StoreUnreachable } from "../store-unreachable.js";

/** A connection attempt (or a wait for a pooled one) fails after this rather than hang. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A statement waits this long for a lock (a row, a chain's head) before it fails, and with it its
 * request (`store.unavailable`, 503), rather than wait for ever on a session that holds it: one
 * of another instance that froze, or lost its network, mid-transaction. The waits the design
 * has (a mandate change behind code exchanges, decisions of one tenant behind its chain's head)
 * last milliseconds.
 */
export const LOCK_TIMEOUT_MS = 10_000;

/**
 * The server ends a session whose transaction has sent nothing for this long, releasing what it
 * holds: no transaction of tenant-mfa waits on anything but the database (an IdP or a clock) while
 * it is open, so such a session's instance is gone or cut off.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;

/**
 * A pool of connections to the database; with `readOnly`, every transaction on them is read-only
 * and the server refuses any write (DDL included). With `waitForLocks`, lock waits are unbounded:
 * for migrations, which wait for another instance's (and take locks of their own for as long as
 * a table's rewrite lasts). With `statementTimeoutMs` (above 0), the database cancels a statement
 * that runs longer (SQLSTATE 57014, `query_canceled`), lock waits included, and the connection
 * is free again: the server's pool, where a stuck query would hold its connection for as long as
 * it ran; none by default, for migrations and the operator's commands.
 */
export function createPostgresKysely(
  connectionString: string,
  options: { readOnly?: boolean; waitForLocks?: boolean; statementTimeoutMs?: number } = {},
): Kysely<Database> {
  const statementTimeoutMs = options.statementTimeoutMs ?? 0;
  const pool = new pg.Pool({
    connectionString,
    application_name: "tenant-mfa",
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(options.waitForLocks === true ? {} : { lock_timeout: LOCK_TIMEOUT_MS }),
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    // A peer that vanished (a server rebooted, a network cut) is noticed by TCP within about a
    // minute instead of the system's default two hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 30_000,
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
  // A connection that cannot be made is named by the store's URL, its password masked: pg's own
  // errors (ECONNREFUSED, an unknown role) name no store, and nothing may print the URL whole.
  const connecting = {
    connect: () =>
      pool.connect().catch((error: unknown) => {
        throw new StoreUnreachable(connectionString, error);
      }),
    end: () => pool.end(),
  };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: connecting }) });
}
