import type { Kysely } from "kysely";
import type { Store } from "../app/ports.js";
import type { Database } from "./kysely/database.js";
import { migrateToLatest } from "./migrations/migrate-to-latest.js";
import { createPostgresKysely } from "./postgres/create-postgres-kysely.js";
import { openPostgresStore } from "./postgres/open-postgres-store.js";
import { createSqliteKysely } from "./sqlite/create-sqlite-kysely.js";
import { openSqliteStore } from "./sqlite/open-sqlite-store.js";
import { parseStoreUrl, type StoreLocation } from "./store-url.js";

export interface OpenStoreOptions {
  /** Apply pending migrations before returning; true unless false. */
  readonly migrate?: boolean;
  /**
   * Refuse nested transactions and early announcements, naming the bug (`KyselyStoreOptions`):
   * on when `NODE_ENV` is `test` (test runners set it) unless given, off otherwise, as it slows
   * every promise of the process.
   */
  readonly detectNesting?: boolean;
}

/**
 * Opens the store at `url`: `sqlite:PATH` (the folder is created), `sqlite::memory:`, or
 * `postgres://…` / `postgresql://…`. Throws for any other URL.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseStoreUrl(url);
  const settings = {
    migrate: options.migrate !== false,
    detectNesting: options.detectNesting ?? process.env.NODE_ENV === "test",
  };
  return location.dialect === "sqlite"
    ? openSqliteStore(location.path, settings)
    : openPostgresStore(location.connectionString, settings);
}

/** Applies pending migrations at `url` and returns their names, oldest first (`tenant-mfa migrate`). */
export async function migrateStore(url: string): Promise<readonly string[]> {
  const db = createKysely(parseStoreUrl(url));
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

function createKysely(location: StoreLocation): Kysely<Database> {
  return location.dialect === "sqlite"
    ? createSqliteKysely(location.path)
    : createPostgresKysely(location.connectionString);
}
