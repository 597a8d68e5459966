import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import Sqlite from "better-sqlite3";

/** What a backup wrote: the copy, and what it holds (for the operator to check at a glance). */
export interface SqliteBackup {
  /** The copy's path, as written. */
  readonly path: string;
  readonly bytes: number;
  /** The store migrations the copy holds, oldest first: the version a restore will run. */
  readonly migrations: readonly string[];
  readonly tenants: number;
  readonly auditEvents: number;
  readonly receipts: number;
}

/**
 * Why a backup or a restore was refused; nothing is left behind at the target when it is, and
 * a store being restored over is left as it was.
 */
export type StoreCopyRefusal =
  /**
   * The target is a file already (the copy replaces one only when told to), or is there and is
   * no regular file (a device, a pipe), which it never replaces.
   */
  | "target_exists"
  /** The target is the store itself, or one of its -wal, -shm or -journal files. */
  | "target_is_store"
  /**
   * A -wal or -journal file is beside the target: SQLite would apply it to the file put there,
   * as that file's own log.
   */
  | "journal_beside_target"
  /**
   * The target cannot be written: its folder is missing or cannot be written, it is a folder, or
   * (a store to restore over) this user may not change it.
   */
  | "target_unwritable"
  /** The copy failed SQLite's integrity check: it is removed, and the source is worth a look. */
  | "copy_damaged"
  /** The file to restore from is no tenant-mfa store (no migration applied), or is missing. */
  | "backup_not_store"
  /** The file to restore from was migrated by a newer tenant-mfa, which should restore it. */
  | "backup_newer"
  /** The store to restore over is open in another process (a server, a command). */
  | "store_in_use"
  /** The disk holding the target is full: what the copy wrote is removed. */
  | "no_room";

/** A backup or restore refused, or failed before its copy took its place. */
export class StoreCopyRefused extends Error {
  constructor(
    readonly reason: StoreCopyRefusal,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StoreCopyRefused";
  }
}

export interface BackUpOptions {
  /** Replace a file already at the target (atomically: it stays whole until the copy is). */
  readonly replace?: boolean;
  /** The instant that names a copy written into a folder (`tenant-mfa-20261207T093900Z.db`). */
  readonly now: Date;
  /**
   * The key file that opens the store's sealed secrets (`encryption-key.json` beside it), which
   * a copy must never replace, `replace` or not: without it those secrets are lost for good.
   */
  readonly sealingKeyFile?: string;
}

/** How long the copy waits for a lock that a writer holds (a checkpoint restarting the WAL). */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Copies the SQLite store at `store` to `target` while it is in use: `VACUUM INTO` reads one
 * snapshot (a read transaction, which in WAL mode never blocks the server's writes), so the copy
 * is the store as of one commit, never a mix of two, and compacted. Copying the file instead
 * would not be: a file copied while the server writes, or without its -wal file, can be torn
 * or lack the latest commits (https://www.sqlite.org/howtocorrupt.html, §1.2).
 *
 * The copy is written beside the target under a temporary name, readable by its owner only
 * (0600: it holds every tenant's records and their sealed secrets), flushed to disk, checked
 * with `PRAGMA integrity_check`, and only then renamed to the target (and the folder flushed),
 * so a failure or a crash leaves no partial file under the target's name. A target that is a
 * folder gets a file named by `now`. The store is opened read-only: the backup never changes it.
 * The sealing key file beside the store is not copied (see the README, "Backing up").
 */
export function backUpSqliteStore(
  store: string,
  target: string,
  options: BackUpOptions,
): SqliteBackup {
  const path = targetPath(target, options.now);
  refuseStoreItself(store, path);
  if (options.sealingKeyFile !== undefined && sameEntry(options.sealingKeyFile, path)) {
    throw new StoreCopyRefused(
      "target_is_store",
      `${path} is the store's sealing key file, which the backup must never replace: give --to another file`,
    );
  }
  const existing = statOrUndefined(path);
  // The rename would put the copy in place of a device (/dev/null, run as root) or a pipe.
  if (existing !== undefined && !existing.isFile()) {
    throw new StoreCopyRefused(
      "target_exists",
      `${path} is not a file (a device, a pipe): give --to a file, or a folder to write one in`,
    );
  }
  if (existing !== undefined && options.replace !== true) {
    throw new StoreCopyRefused(
      "target_exists",
      `${path} exists: give another --to, or --force to replace it`,
    );
  }
  refuseJournalsBeside(path);
  const copy = writeCheckedCopy(store, path);
  try {
    return moveIntoPlace(copy, path);
  } catch (error) {
    copy.discard();
    throw error;
  }
}

/** A checked copy of a store, whole and on disk, waiting beside its target under a temporary name. */
export interface CheckedCopy extends Omit<SqliteBackup, "path" | "bytes"> {
  readonly temporary: string;
  /** Removes the copy (a copy that will not take its target's place). */
  discard(): void;
}

/**
 * Copies the store at `store` into a new file beside `path` (one snapshot, 0600, flushed,
 * integrity-checked): everything a copy needs before it takes the target's place, so that
 * nothing is changed at the target until the copy is whole. Nothing is left behind when it fails.
 */
export function writeCheckedCopy(store: string, path: string): CheckedCopy {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${randomBytes(6).toString("hex")}.partial`,
  );
  try {
    // Made empty first, for its owner only: VACUUM INTO takes an empty file as it finds it.
    closeSync(openSync(temporary, "wx", 0o600));
  } catch (error) {
    throw new StoreCopyRefused(
      "target_unwritable",
      `cannot write the backup in ${dirname(path)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      { cause: error },
    );
  }
  const discard = () => {
    rmSync(temporary, { force: true });
  };
  try {
    const source = new Sqlite(store, { readonly: true, fileMustExist: true });
    try {
      source.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      source.prepare("VACUUM INTO ?").run(temporary);
    } finally {
      source.close();
    }
    flush(temporary);
    return { temporary, discard, ...readStoreCopy(temporary) };
  } catch (error) {
    discard();
    if (isDiskFull(error)) {
      throw new StoreCopyRefused(
        "no_room",
        `no room in ${dirname(path)} for the copy: the disk is full (nothing was left there)`,
        { cause: error },
      );
    }
    if (error instanceof StoreCopyRefused && error.reason === "copy_damaged") {
      throw new StoreCopyRefused(
        "copy_damaged",
        `the copy of ${store} failed SQLite's integrity check, so it was removed (check the store itself): ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** SQLite's or the file system's word for a disk with no room left. */
export function isDiskFull(error: unknown): boolean {
  const { code } = error as { code?: unknown };
  return code === "SQLITE_FULL" || code === "ENOSPC";
}

/** Renames a checked copy to `path` (replacing a file there at once) and flushes the folder. */
export function moveIntoPlace(copy: CheckedCopy, path: string): SqliteBackup {
  renameSync(copy.temporary, path);
  flush(dirname(path));
  const { migrations, tenants, auditEvents, receipts } = copy;
  return { path, bytes: statSync(path).size, migrations, tenants, auditEvents, receipts };
}

/** The file to write: `target`, or a file named by `now` when `target` is a folder. */
function targetPath(target: string, now: Date): string {
  const isFolder = statOrUndefined(target)?.isDirectory() === true;
  if (!isFolder && target.endsWith(sep)) {
    throw new StoreCopyRefused(
      "target_unwritable",
      `no folder at ${target}: make it, or give --to a file`,
    );
  }
  if (!isFolder) return target;
  return join(target, `tenant-mfa-${fileTimeStamp(now)}.db`);
}

/** An instant as a file name takes it: `20261207T093900Z`. */
export function fileTimeStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * Refuses a target that is the store, or a file SQLite keeps beside it: writing there would
 * destroy what is being copied. Compared by the folder's real path (a symbolic link or `..`
 * naming the same folder), by the store's real path (a store given by a symbolic link to its
 * file) and, for an existing file, by device and inode (a hard link).
 */
export function refuseStoreItself(store: string, path: string): void {
  // SQLite resolves a store given by a symbolic link, and keeps its -wal beside the file named.
  const storeFiles = [resolve(realpathSync(dirname(store)), basename(store)), realpathSync(store)];
  const targetFile = realEntry(path);
  const kept = storeFiles.flatMap((file) =>
    ["", "-wal", "-shm", "-journal"].map((suffix) => file + suffix),
  );
  const stored = statSync(store);
  const existing = statOrUndefined(path);
  if (
    kept.includes(targetFile) ||
    (existing !== undefined && existing.dev === stored.dev && existing.ino === stored.ino)
  ) {
    throw new StoreCopyRefused(
      "target_is_store",
      `${path} is the store itself (or a file SQLite keeps beside it): give --to another file`,
    );
  }
}

/** The path of the folder entry `path` names: its folder's real path, its own name. */
function realEntry(path: string): string {
  const folder = dirname(path);
  return statOrUndefined(folder) === undefined
    ? resolve(path)
    : resolve(realpathSync(folder), basename(path));
}

/** Whether `a` and `b` name one folder entry, through symbolic links or `..` in their folders. */
function sameEntry(a: string, b: string): boolean {
  return realEntry(a) === realEntry(b);
}

/**
 * Refuses a target beside which a -wal or -journal file is: SQLite applies them to whatever
 * file has that name when it is next opened, though another database wrote them
 * (https://www.sqlite.org/howtocorrupt.html, §2). They are the log of a database that a process
 * had open under that name when it stopped (killed, crashed), or has open still: either way not
 * the copy's, and not for the copy to delete. A -shm file alone is rebuilt by the next opener.
 */
export function refuseJournalsBeside(path: string): void {
  const logs = ["-wal", "-journal"]
    .map((suffix) => path + suffix)
    .filter((log) => statOrUndefined(log) !== undefined);
  if (logs.length === 0) return;
  const [is, it, belongs] =
    logs.length === 1 ? ["is", "it", "it belongs"] : ["are", "them", "they belong"];
  throw new StoreCopyRefused(
    "journal_beside_target",
    `${logs.join(" and ")} ${is} beside ${path}: SQLite would apply ${it} to the copy put there, as its own (the log of a database that a process has open under that name, or had when it stopped): stop that process, or move ${it} away with the database ${belongs} to, then try again`,
  );
}

/**
 * Checks a copy with `PRAGMA integrity_check` and reads what it holds; a copy that fails the
 * check is refused (`copy_damaged`, the problems SQLite found as its message). A file that is
 * no tenant-mfa store reads as holding no migration.
 */
export function readStoreCopy(path: string): Omit<SqliteBackup, "path" | "bytes"> {
  const copy = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    let problems: string[];
    try {
      problems = copy
        .prepare("PRAGMA integrity_check")
        .pluck()
        .all()
        .map((row) => String(row));
    } catch (error) {
      // Damage SQLite meets before it can list any (a page it cannot read as one).
      if ((error as { code?: unknown }).code !== "SQLITE_CORRUPT") throw error;
      problems = [(error as Error).message];
    }
    if (problems.length !== 1 || problems[0] !== "ok") {
      throw new StoreCopyRefused("copy_damaged", problems.slice(0, 5).join("; "));
    }
    const tables = new Set(
      copy
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .pluck()
        .all()
        .map((name) => String(name)),
    );
    const count = (table: string) =>
      tables.has(table) ? Number(copy.prepare(`SELECT count(*) FROM ${table}`).pluck().get()) : 0;
    return {
      migrations: tables.has("kysely_migration")
        ? copy
            .prepare("SELECT name FROM kysely_migration ORDER BY name")
            .pluck()
            .all()
            .map((name) => String(name))
        : [],
      tenants: count("tenants"),
      auditEvents: count("audit_events"),
      receipts: count("receipts"),
    };
  } finally {
    copy.close();
  }
}

/** Flushes a file, or a folder's entries (a rename), to the disk. */
function flush(path: string): void {
  const descriptor = openSync(path, "r");
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** The file or folder at `path`; undefined where there is none; refused where it cannot be read. */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new StoreCopyRefused(
      "target_unwritable",
      `cannot read ${path}: ${code ?? String(error)}`,
      {
        cause: error,
      },
    );
  }
}
