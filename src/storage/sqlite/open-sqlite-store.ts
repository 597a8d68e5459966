import { sql } from "kysely";
import type { Store } from "../../app/ports.js";
import { ChangeListeners } from "../kysely/change-listeners.js";
import { createKyselyStore } from "../kysely/kysely-store.js";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import {
  BACKSTOP_AUTOCHECKPOINT_PAGES,
  BackgroundCheckpointer,
} from "./background-checkpointer.js";
import {
  createReadOnlySqliteKysely,
  createSqliteKysely,
  IN_MEMORY,
} from "./create-sqlite-kysely.js";

/**
 * The embedded store: one process owns the file, so changes reach listeners in-process, after
 * the commit. A file's WAL is checkpointed by a worker thread, off the event loop. `readOnly`
 * opens an existing file with a connection SQLite keeps from writing, and no checkpointer: a
 * checkpoint writes the WAL's pages into the file.
 */
export async function openSqliteStore(
  path: string,
  options: { migrate: boolean; detectNesting: boolean; readOnly?: boolean },
): Promise<Store> {
  const readOnly = options.readOnly === true;
  if (readOnly && path === IN_MEMORY) {
    throw new Error("An in-memory store cannot be opened read-only: it would be new and empty.");
  }
  const db = readOnly ? createReadOnlySqliteKysely(path) : createSqliteKysely(path);
  try {
    if (options.migrate && !readOnly) await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  let checkpointer: BackgroundCheckpointer | undefined;
  if (path !== IN_MEMORY && !readOnly) {
    await sql.raw(`pragma wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`).execute(db);
    checkpointer = new BackgroundCheckpointer(path);
  }
  const listeners = new ChangeListeners();
  return createKyselyStore({
    db,
    detectNesting: options.detectNesting,
    audit: { lockHeads: false },
    lockRows: false,
    // One connection: transactions wait for each other anyway, so they may as well commit
    // together.
    groupCommit: true,
    listeners,
    publish(change) {
      listeners.emit(change);
      return Promise.resolve();
    },
    release: async () => {
      await checkpointer?.close();
    },
  });
}
