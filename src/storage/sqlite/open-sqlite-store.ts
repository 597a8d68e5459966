import type { Store } from "../../app/ports.js";
import { ChangeListeners } from "../kysely/change-listeners.js";
import { createKyselyStore } from "../kysely/kysely-store.js";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import { createSqliteKysely } from "./create-sqlite-kysely.js";

/**
 * The embedded store: one process owns the file, so changes reach listeners in-process, after
 * the commit.
 */
export async function openSqliteStore(path: string, options: { migrate: boolean }): Promise<Store> {
  const db = createSqliteKysely(path);
  try {
    if (options.migrate) await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const listeners = new ChangeListeners();
  return createKyselyStore({
    db,
    audit: { lockHeads: false },
    listeners,
    publish(change) {
      listeners.emit(change);
      return Promise.resolve();
    },
  });
}
