import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Sqlite from "better-sqlite3";
import { Kysely, SqliteDialect, type SqliteDatabase } from "kysely";
import type { Database } from "../kysely/database.js";
import { allowDirectExecution } from "../kysely/direct-execution.js";
import { ImmediateSqliteDialect } from "./immediate-sqlite-dialect.js";
import { cacheStatements } from "./statement-cache.js";

export const IN_MEMORY = ":memory:";

/** How long a writer waits for another process's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/** The page cache of the main connection, KiB. */
const CACHE_KIB = 64 * 1024;

/** The page cache of the read connection, KiB: its reads are the hot path's few lookups. */
const READER_CACHE_KIB = 16 * 1024;

/**
 * Opens the database file, creating it and its folder for their owner only when missing.
 * Kysely's SQLite driver keeps the main connection behind a mutex, so every transaction of the
 * process runs after the previous one; a file also gets a read connection (`openReader`).
 */
export function createSqliteKysely(path: string): Kysely<Database> {
  if (path !== IN_MEMORY) createPrivateFile(path);
  const database = new Sqlite(path);
  try {
    // WAL lets readers in other processes (reports, `audit verify`) run beside the writer;
    // NORMAL is durable in WAL mode except for the last commits on power loss.
    database.pragma("journal_mode = WAL");
    database.pragma("synchronous = NORMAL");
    database.pragma("foreign_keys = ON");
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // SQLite's default page cache is 2 MiB; with many tenants the indexes that every decision
    // touches at random (audit chains, heads, principals) outgrow it and each miss is a read
    // from the operating system. A cache is memory only: durability is unchanged.
    database.pragma(`cache_size = -${CACHE_KIB}`);
    // Every grouped transaction runs in a savepoint, and SQLite keeps the original of each page
    // a savepoint changes in a sub-journal, by default a temporary file: a write and later a
    // read of 4 KiB through the file system per page. In memory it costs a copy. The
    // sub-journal only ever rolls back a savepoint; crash recovery never reads it, so
    // durability is unchanged.
    database.pragma("temp_store = MEMORY");
  } catch (error) {
    database.close();
    throw error;
  }
  const reader = path === IN_MEMORY ? undefined : openReader(path, database);
  const written = cacheStatements(database);
  // Kysely closes the database it was given when it is destroyed: the reader goes with it.
  const statements: SqliteDatabase = {
    prepare: (sql) => written.prepare(sql),
    close() {
      reader?.close();
      written.close();
    },
  };
  const dialect = new ImmediateSqliteDialect({ database: statements });
  const db = new Kysely<Database>({ dialect });
  allowDirectExecution(db, {
    execute({ sql, parameters }) {
      // As Kysely's SQLite connection runs a query, on the statements it prepared.
      const statement = written.prepare(sql);
      if (statement.reader) return { rows: statement.all(parameters) };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    },
    connectionIdle: () => dialect.connectionIdle(),
    ...(reader === undefined
      ? {}
      : {
          read({ sql, parameters }) {
            const statement = reader.prepare(sql);
            if (!statement.reader) throw new Error("Only a read runs on the read connection.");
            return { rows: statement.all(parameters) };
          },
        }),
  });
  return db;
}

/**
 * A second connection to the file, read-only, for reads outside any transaction while one holds
 * the main connection (`direct-execution.ts`). In WAL mode it reads the last committed state
 * beside the writer, never a transaction's uncommitted rows, and never waits for the writer.
 * Each read is one statement, so it holds a snapshot only while it runs.
 */
function openReader(path: string, writer: Sqlite.Database): SqliteDatabase {
  let reader: Sqlite.Database | undefined;
  try {
    reader = new Sqlite(path, { readonly: true, fileMustExist: true });
    reader.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    reader.pragma(`cache_size = -${READER_CACHE_KIB}`);
  } catch (error) {
    reader?.close();
    writer.close();
    throw error;
  }
  return cacheStatements(reader);
}

/**
 * Opens an existing database file for reading only: SQLite refuses every write through this
 * connection, so nothing it runs can change the file (it may create the -wal and -shm files
 * that a WAL database's readers share). Transactions begin deferred: nothing here writes.
 */
export function createReadOnlySqliteKysely(path: string): Kysely<Database> {
  const database = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (error) {
    database.close();
    throw error;
  }
  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
}

/**
 * Creates the store's file, empty, readable by its owner only (0600), and its folder (0700) when
 * missing: the store holds every tenant's principals, IdP registrations, receipts and audit log,
 * beside a key file only its owner may read, and SQLite would create it as the umask allows
 * (0644, for every local user). SQLite gives the -wal and -shm files the database's mode. An
 * existing file or folder is left as it is.
 */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}
