import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  renameSync,
  statSync,
} from "node:fs";
import { dirname, resolve, sep } from "node:path";
import Sqlite from "better-sqlite3";
import { migrations } from "../migrations/migrate-to-latest.js";
import {
  fileTimeStamp,
  isDiskFull,
  moveIntoPlace,
  readStoreCopy,
  refuseJournalsBeside,
  refuseStoreItself,
  StoreCopyRefused,
  writeCheckedCopy,
  type SqliteBackup,
} from "./back-up-sqlite-store.js";

/** What a restore did: the store as restored, and where the store it replaced was kept. */
export interface SqliteRestore extends SqliteBackup {
  /** The store that was at the path before, renamed; undefined when there was none. */
  readonly replacedKeptAt: string | undefined;
}

/**
 * Puts the backup at `backup` in place of the SQLite store at `store`, which must not be open
 * anywhere (stop the server first). The backup is checked before anything changes: SQLite's
 * integrity check, a tenant-mfa store, of no newer version than this one (an older one is
 * migrated when the server next opens it).
 *
 * The store there is never deleted. It is taken out of WAL mode first, which SQLite refuses
 * while another connection has it open (`store_in_use`, the store left as it was) and which
 * folds its -wal file into it, then renamed to `<store>.replaced-<time>`: one self-contained
 * file, kept. Leaving its -wal file beside the restored store instead would have SQLite apply
 * those pages to a different database (https://www.sqlite.org/howtocorrupt.html, §2). A store
 * SQLite cannot read at all (the damage a restore is for) is renamed with its -wal and -shm
 * files as they are. The backup is copied beside the store first as `backUpSqliteStore` copies
 * a store (one snapshot, 0600, flushed, checked), and renamed into place once the store is aside.
 */
export function restoreSqliteStore(
  backup: string,
  storePath: string,
  options: { readonly now: Date },
): SqliteRestore {
  const store = fileBehindLinks(storePath);
  if (!existsSync(backup)) {
    throw new StoreCopyRefused("backup_not_store", `no backup at ${backup}`);
  }
  if (!statSync(backup).isFile()) {
    throw new StoreCopyRefused(
      "backup_not_store",
      `${backup} is not a file (a folder?): give --from the backup file`,
    );
  }
  if (existsSync(store)) {
    const [from, to] = [statSync(backup), statSync(store)];
    if (from.dev === to.dev && from.ino === to.ino) {
      throw new StoreCopyRefused("target_is_store", `${backup} is the store itself`);
    }
  }
  let held: ReturnType<typeof readStoreCopy>;
  try {
    held = readStoreCopy(backup);
  } catch (error) {
    if (error instanceof StoreCopyRefused) {
      throw new StoreCopyRefused(
        "copy_damaged",
        `${backup} fails SQLite's integrity check, so nothing was restored: ${error.message}`,
        { cause: error },
      );
    }
    throw new StoreCopyRefused("backup_not_store", whyUnreadable(backup, error), {
      cause: error,
    });
  }
  if (held.migrations.length === 0) {
    throw new StoreCopyRefused(
      "backup_not_store",
      `${backup} holds no tenant-mfa store (no migration was ever applied to it)`,
    );
  }
  const unknown = held.migrations.filter((name) => !Object.hasOwn(migrations, name));
  if (unknown.length > 0) {
    throw new StoreCopyRefused(
      "backup_newer",
      `${backup} was migrated by a newer tenant-mfa (${unknown.join(", ")}): restore it with that version`,
    );
  }
  // The store's path must not be the backup's own -wal or -shm file either.
  refuseStoreItself(backup, store);
  refuseNonFile(store);
  // Refused now rather than after a copy as long as the backup; asked again before the swap.
  // With no store there, a log left beside its path would be applied to the restored one.
  if (existsSync(store)) foldWal(store);
  else refuseJournalsBeside(store);
  makeStoreFolder(dirname(store));
  // The copy is made, flushed and checked beside the store before the store is touched: a copy
  // that fails (a full or failing disk) leaves the store where it was, never an empty path on
  // which a server starting would make a new, empty store. The store is then out of place only
  // between two renames.
  const copy = writeCheckedCopy(backup, store);
  try {
    giveOwnerOf(existsSync(store) ? store : dirname(store), copy.temporary);
    const replacedKeptAt = existsSync(store)
      ? setAside(store, `${store}.replaced-${fileTimeStamp(options.now)}`)
      : undefined;
    return { ...moveIntoPlace(copy, store), replacedKeptAt };
  } catch (error) {
    copy.discard();
    throw error;
  }
}

/**
 * The file a store path names once symbolic links are followed, as SQLite opens it: a store given
 * by a link into a data volume is restored there, and the link stays. A link whose file is not
 * there yet names where SQLite would make it.
 */
function fileBehindLinks(path: string): string {
  let file = path;
  // The kernel's own limit on links followed in one path (ELOOP past it).
  for (let hops = 0; hops < 40; hops++) {
    let stats;
    try {
      stats = lstatSync(file);
    } catch {
      return file;
    }
    if (!stats.isSymbolicLink()) return file;
    file = resolve(dirname(file), readlinkSync(file));
  }
  throw new StoreCopyRefused(
    "target_unwritable",
    `${path} is a loop of symbolic links: give the store's file in --db`,
  );
}

/** Why SQLite could not read the backup at `backup`, in the operator's terms. */
function whyUnreadable(backup: string, error: unknown): string {
  const { code } = error as { code?: unknown };
  if (code === "SQLITE_NOTADB") return `${backup} is not a SQLite database`;
  // A store file copied as it lies, read where its -shm file cannot be made (a read-only mount).
  if (code === "SQLITE_READONLY_DIRECTORY") {
    return `${backup} is in WAL mode without its -shm file, in a folder this user cannot write, so SQLite cannot read it: copy it into a writable folder, then restore from the copy (a file \`tenant-mfa backup\` wrote is never in WAL mode)`;
  }
  return `cannot read ${backup}: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * Gives `file` the owner of `model` (the store it replaces, or its folder) when this process may:
 * a restore run by root (`sudo`) made a copy that only root could open, and the server runs as
 * its own user.
 */
function giveOwnerOf(model: string, file: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = statSync(model);
  try {
    chownSync(file, uid, gid);
  } catch (error) {
    // Root that may not give files away (an NFS mount squashing root): the copy stays its own.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") throw error;
  }
}

/** Refuses a store path that names a folder (or anything but a file): no copy can take its place. */
function refuseNonFile(store: string): void {
  if (store.endsWith(sep) || (existsSync(store) && !statSync(store).isFile())) {
    throw new StoreCopyRefused(
      "target_unwritable",
      `${store} is not a file (a folder?): give the store's file in --db`,
    );
  }
}

/** Makes a new machine's store folder, as the store's own would be: for its owner only. */
function makeStoreFolder(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StoreCopyRefused(
      "target_unwritable",
      `cannot make the store's folder ${folder}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      { cause: error },
    );
  }
}

/** Takes the store at `store` out of use and renames it to `keptAt`; returns `keptAt`. */
function setAside(store: string, keptAt: string): string {
  if (existsSync(keptAt)) {
    throw new StoreCopyRefused("target_exists", `${keptAt} exists: try again in a second`);
  }
  if (foldWal(store)) {
    renameSync(store, keptAt);
    return keptAt;
  }
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(store + suffix)) renameSync(store + suffix, keptAt + suffix);
  }
  return keptAt;
}

/**
 * Switches the store to rollback-journal mode, which folds its WAL into the file and leaves
 * neither -wal nor -shm behind; false when SQLite cannot read the file as a database at all.
 */
function foldWal(store: string): boolean {
  let database: Sqlite.Database;
  try {
    database = new Sqlite(store, { fileMustExist: true });
  } catch (error) {
    if (unreadable(error)) return false;
    throw cannotChange(store, error);
  }
  const inUse = (cause?: unknown) =>
    new StoreCopyRefused(
      "store_in_use",
      `${store} is in use (a server or another command has it open): stop it, then restore`,
      { cause },
    );
  try {
    // No waiting: a lock held now is a process using the store, not a moment's write.
    database.pragma("busy_timeout = 0");
    const mode = String(database.pragma("journal_mode = DELETE", { simple: true }));
    if (mode !== "delete") throw inUse();
    return true;
  } catch (error) {
    if (error instanceof StoreCopyRefused) throw error;
    if (unreadable(error)) return false;
    const { code } = error as { code?: unknown };
    if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") throw inUse(error);
    throw cannotChange(store, error);
  } finally {
    database.close();
  }
}

/**
 * SQLite's refusal to open or change the store for a reason of its own: most often a user who
 * may not write the store, its -shm file or its folder (not the server's user).
 */
function cannotChange(store: string, error: unknown): StoreCopyRefused {
  if (isDiskFull(error)) {
    return new StoreCopyRefused(
      "no_room",
      `no room in ${dirname(store)} to fold the store's WAL into it before it is set aside: the disk is full (the store is as it was)`,
      { cause: error },
    );
  }
  const { code } = error as { code?: unknown };
  const message = error instanceof Error ? error.message : String(error);
  return new StoreCopyRefused(
    "target_unwritable",
    `cannot take ${store} out of use to replace it (${typeof code === "string" ? `${code}: ` : ""}${message}): run restore as the user the server runs as, who may write the store and its folder`,
    { cause: error },
  );
}

/** SQLite's refusal of a file that is not a database, or one too damaged to open. */
function unreadable(error: unknown): boolean {
  const { code } = error as { code?: unknown };
  return code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT";
}
