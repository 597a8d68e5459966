import { sql } from "kysely";
import type { Store } from "../../app/ports.js";
import { ChangeListeners } from "../kysely/change-listeners.js";
import { createKyselyStore } from "../kysely/kysely-store.js";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import { CONNECT_TIMEOUT_MS, createPostgresKysely } from "./create-postgres-kysely.js";
import { CHANGE_CHANNEL, PostgresChangeFeed } from "./postgres-change-feed.js";

/**
 * The shared store for several instances: changes travel by NOTIFY, and every instance (the
 * sender too) hears them on its own LISTEN connection, so all caches drop the same way.
 */
export async function openPostgresStore(
  connectionString: string,
  options: { migrate: boolean; detectNesting: boolean },
): Promise<Store> {
  const db = createPostgresKysely(connectionString);
  const listeners = new ChangeListeners();
  const feed = new PostgresChangeFeed(
    { connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    (change) => {
      listeners.emit(change);
    },
  );
  try {
    if (options.migrate) await migrateToLatest(db);
    await feed.start();
  } catch (error) {
    await feed.close();
    await db.destroy();
    throw error;
  }
  return createKyselyStore({
    db,
    detectNesting: options.detectNesting,
    audit: { lockHeads: true },
    listeners,
    async publish(change) {
      await sql`select pg_notify(${CHANGE_CHANNEL}, ${JSON.stringify(change)})`.execute(db);
    },
    release: () => feed.close(),
  });
}
