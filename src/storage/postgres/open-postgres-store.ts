import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { Store } from "../../app/ports.js";
import { ChangeListeners } from "../kysely/change-listeners.js";
import { createKyselyStore } from "../kysely/kysely-store.js";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import { StoreUnreachable } from "../store-unreachable.js";
import { CONNECT_TIMEOUT_MS, createPostgresKysely } from "./create-postgres-kysely.js";
import { notificationPayload } from "./parse-store-change.js";
import { CHANGE_CHANNEL, PostgresChangeFeed } from "./postgres-change-feed.js";

/**
 * Applies pending migrations and returns their names, oldest first, on a pool of its own whose
 * statements may wait for locks as long as they must: for another instance's migration, or
 * behind a table that a migration rewrites.
 */
export async function migratePostgresStore(connectionString: string): Promise<readonly string[]> {
  const db = createPostgresKysely(connectionString, { waitForLocks: true });
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

/**
 * The shared store for several instances: changes travel by NOTIFY to every other instance,
 * which hears them on its own LISTEN connection; the instance that made a change tells its own
 * listeners at once, before the change's caller is answered, and skips its own notification
 * when it comes back, so that every instance hears each change once. `readOnly`: every
 * transaction of its pool is read-only, and it migrates nothing. `statementTimeoutMs`: the pool's
 * statements are cancelled past it (not the migrations', which run on a pool of their own).
 */
export async function openPostgresStore(
  connectionString: string,
  options: {
    migrate: boolean;
    detectNesting: boolean;
    readOnly?: boolean;
    statementTimeoutMs?: number;
  },
): Promise<Store> {
  const readOnly = options.readOnly === true;
  const db = createPostgresKysely(connectionString, {
    readOnly,
    ...(options.statementTimeoutMs === undefined
      ? {}
      : { statementTimeoutMs: options.statementTimeoutMs }),
  });
  const listeners = new ChangeListeners();
  const origin = randomUUID();
  const feed = new PostgresChangeFeed(
    { connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    (notification) => {
      if (notification.origin !== origin) listeners.emit(notification.change);
    },
  );
  try {
    if (options.migrate && !readOnly) await migratePostgresStore(connectionString);
    // LISTEN writes nothing: a read-only store still hears other instances' changes.
    await feed.start().catch((error: unknown) => {
      throw new StoreUnreachable(connectionString, error);
    });
  } catch (error) {
    await feed.close();
    await db.destroy();
    throw error;
  }
  return createKyselyStore({
    db,
    detectNesting: options.detectNesting,
    audit: { lockHeads: true },
    lockRows: true,
    listeners,
    async publish(change) {
      // This instance's caches drop what changed before the change's caller is answered, not
      // when its own notification comes back (a lost one would leave them up to a second).
      listeners.emit(change);
      const payload = notificationPayload(change, origin);
      // Should NOTIFY fail (a connection dropped after the commit, the pool exhausted), the store
      // reports it as a warning and the change's caller is answered all the same: the change is
      // committed, and the other instances' caches expire within a second.
      await sql`select pg_notify(${CHANGE_CHANNEL}, ${payload})`.execute(db);
    },
    release: () => feed.close(),
  });
}
