import type { Store } from "../app/ports.js";
import {
  migrateToLatest,
  migrationState,
  type MigrationState,
} from "./migrations/migrate-to-latest.js";
import {
  createReadOnlySqliteKysely,
  createSqliteKysely,
  IN_MEMORY,
} from "./sqlite/create-sqlite-kysely.js";
import { openSqliteStore } from "./sqlite/open-sqlite-store.js";
import { parseStoreUrl } from "./store-url.js";

/**
 * The PostgreSQL adapter, loaded the first time a PostgreSQL URL is opened: a SQLite store (the
 * default, and every CLI command run on one) never loads `pg`.
 */
const postgres = async () => {
  const [{ createPostgresKysely }, { openPostgresStore, migratePostgresStore }] = await Promise.all(
    [import("./postgres/create-postgres-kysely.js"), import("./postgres/open-postgres-store.js")],
  );
  return { createPostgresKysely, openPostgresStore, migratePostgresStore };
};

export interface OpenStoreOptions {
  /** Apply pending migrations before returning; true unless false. */
  readonly migrate?: boolean;
  /**
   * Refuse nested transactions and early announcements, naming the bug (`KyselyStoreOptions`):
   * on when `NODE_ENV` is `test` (test runners set it) unless given, off otherwise, as it slows
   * every promise of the process.
   */
  readonly detectNesting?: boolean;
  /**
   * Only read the store (`audit verify`): the database refuses every write of its connections,
   * and nothing runs at open that writes (no migration, whatever `migrate` says). A SQLite file
   * must exist, and keeps its journal mode; an in-memory one is refused.
   */
  readonly readOnly?: boolean;
  /**
   * PostgreSQL: how long one statement of the store's pool may run before the database cancels
   * it (`store.statementTimeoutMs`, for the server's pool); none when absent or 0. Migrations run
   * on a pool of their own without it. SQLite has no statement timeout.
   */
  readonly statementTimeoutMs?: number;
}

/**
 * Opens the store at `url`: `sqlite:PATH` (the folder is created), `sqlite::memory:`, or
 * `postgres://…` / `postgresql://…`. Throws for any other URL.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseStoreUrl(url);
  const readOnly = options.readOnly === true;
  const settings = {
    migrate: options.migrate !== false && !readOnly,
    detectNesting: options.detectNesting ?? process.env.NODE_ENV === "test",
    readOnly,
  };
  return location.dialect === "sqlite"
    ? openSqliteStore(location.path, settings)
    : (await postgres()).openPostgresStore(location.connectionString, {
        ...settings,
        ...(options.statementTimeoutMs === undefined
          ? {}
          : { statementTimeoutMs: options.statementTimeoutMs }),
      });
}

/** Applies pending migrations at `url` and returns their names, oldest first (`tenant-mfa migrate`). */
export async function migrateStore(url: string): Promise<readonly string[]> {
  const location = parseStoreUrl(url);
  if (location.dialect === "postgres") {
    return (await postgres()).migratePostgresStore(location.connectionString);
  }
  const db = createSqliteKysely(location.path);
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

/** The store's schema is behind this version's migrations (see {@link checkStoreMigrated}). */
export class StoreNotMigrated extends Error {
  constructor(options?: ErrorOptions) {
    super("The store's schema is behind this version of tenant-mfa.", options);
    this.name = "StoreNotMigrated";
  }
}

/**
 * The database at a store URL holds no tenant-mfa store: no migration was ever applied there (a
 * PostgreSQL URL naming another database of the server, an empty SQLite file). Commands that act
 * on an existing store refuse it rather than set one up there (see {@link checkStoreExists}).
 */
export class StoreNotFound extends Error {
  constructor() {
    super("The database holds no tenant-mfa store: no migration was ever applied to it.");
    this.name = "StoreNotFound";
  }
}

/**
 * A store this version cannot read as it stands: one migrated by a newer version, or a SQLite
 * WAL store whose `-shm` file is missing in a folder that cannot be written (SQLite must create
 * that file to read it read-only).
 */
export class StoreNotReadable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreNotReadable";
  }
}

/**
 * Checks, writing nothing, that every migration of this version is applied at `url`; throws
 * {@link StoreNotMigrated} otherwise (`tenant-mfa audit verify`, which must not change the store
 * it checks). The migrations table is read over a read-only connection. A SQLite file must
 * exist; an in-memory one is new, so never migrated.
 */
export async function checkStoreMigrated(url: string): Promise<void> {
  const location = parseStoreUrl(url);
  if (location.dialect === "sqlite" && location.path === IN_MEMORY) throw new StoreNotMigrated();
  const { pending, unknown } = await readMigrationState(url);
  if (unknown.length > 0) {
    throw new StoreNotReadable(
      `it was migrated by a newer tenant-mfa (${unknown.join(", ")}): verify it with that version.`,
    );
  }
  if (pending.length > 0) throw new StoreNotMigrated();
}

/**
 * Checks, writing nothing, that the database at `url` holds a tenant-mfa store, current or not;
 * throws {@link StoreNotFound} when no migration was ever applied there. For the commands that
 * act on an existing store (`keys rotate`, `secrets reseal`, `audit …`): migrating a database the
 * URL names by mistake would make a new store there, and act on it instead of the real one.
 */
export async function checkStoreExists(url: string): Promise<void> {
  const { applied } = await readMigrationState(url);
  if (applied === 0) throw new StoreNotFound();
}

/** The migration state at `url`, over a read-only connection; an in-memory store is new. */
async function readMigrationState(url: string): Promise<MigrationState> {
  const location = parseStoreUrl(url);
  if (location.dialect === "sqlite" && location.path === IN_MEMORY)
    return { pending: [], unknown: [], applied: 0 };
  const db =
    location.dialect === "sqlite"
      ? createReadOnlySqliteKysely(location.path)
      : (await postgres()).createPostgresKysely(location.connectionString, { readOnly: true });
  try {
    return await migrationState(db).catch((error: unknown) => {
      throw unreadable(error) ?? error;
    });
  } finally {
    await db.destroy();
  }
}

/** A read-only SQLite connection's refusal to read, as {@link StoreNotReadable}. */
function unreadable(error: unknown): StoreNotReadable | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const { code } = cause as { code?: unknown };
    if (code === "SQLITE_READONLY_DIRECTORY" || code === "SQLITE_CANTOPEN") {
      return new StoreNotReadable(
        "SQLite cannot read this WAL store read-only: its -shm file is missing and its folder cannot be written. Verify a copy in a writable folder.",
        { cause: error },
      );
    }
  }
  return undefined;
}
