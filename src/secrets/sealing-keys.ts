import { randomBytes } from "node:crypto";
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { SealingKey } from "./aes-gcm-sealer.js";

/** A key as configured: an id and 32 bytes in base64. */
export interface ConfiguredKey {
  readonly id: string;
  readonly key: string;
}

/** Decodes configured keys, refusing any that is not 32 bytes. */
export function decodeKeys(keys: readonly ConfiguredKey[]): SealingKey[] {
  return keys.map(({ id, key }) => {
    const bytes = Buffer.from(key, "base64");
    if (bytes.length !== 32) {
      throw new Error(`Encryption key ${id} must be 32 bytes in base64 (it is ${bytes.length}).`);
    }
    return { id, key: bytes };
  });
}

/** A key file that other users may read or write: its key may be known, or replaced. */
export class SharedKeyFile extends Error {
  constructor(path: string, mode: number) {
    super(
      `The encryption key file ${path} can be read or written by other users (mode ${mode.toString(8).padStart(4, "0")}): run chmod 600 ${path}, and rotate the key if others may have read it.`,
    );
    this.name = "SharedKeyFile";
  }
}

/**
 * A key file owned by another user than the one this process runs as, and not by root nor by
 * its folder's owner: whoever owns a file may change its mode at any time, then read the key or
 * replace it.
 */
export class ForeignKeyFile extends Error {
  constructor(path: string, owner: number, user: number) {
    const fix =
      user === 0
        ? `run tenant-mfa as the user the server runs as; should that not be uid ${String(owner)}, give the file and its folder to it (chown USER ${path}) and rotate the key`
        : `run chown ${String(user)} ${path} as root, and rotate the key if uid ${String(owner)} may have read it`;
    super(
      `The encryption key file ${path} is owned by uid ${String(owner)}, neither this process's user (uid ${String(user)}) nor root nor its folder's owner, and its owner may change its mode, then read or replace the key: ${fix}.`,
    );
    this.name = "ForeignKeyFile";
  }
}

/**
 * Refuses a key file that another user may read or replace, as ssh refuses such a private key:
 * one owned by neither this process's user, nor root, nor its folder's owner, or whose mode lets its group or others in
 * (the file is made 0600, so a looser mode is a copy or a restore that widened it). POSIX owners
 * and modes only: Windows has neither (nor `process.getuid`).
 */
function refuseSharedKeyFile(path: string, { mode, uid }: { mode: number; uid: number }): void {
  if (process.platform === "win32") return;
  refuseForeignKeyFile(path, uid);
  if ((mode & 0o077) !== 0) throw new SharedKeyFile(path, mode & 0o777);
}

/**
 * Refuses a key file owned by another user than this process's, unless by root or by the owner
 * of its folder, who may replace any file there anyway: so root may work on a store that the
 * server's user keeps in a folder of its own (`sudo tenant-mfa audit verify`), but never take a
 * key that another user planted in a shared folder (`/tmp`) before the store's first start.
 */
function refuseForeignKeyFile(path: string, owner: number): void {
  const user = process.getuid?.();
  if (user === undefined || owner === user || owner === 0) return;
  if (ownerOf(dirname(path)) === owner) return;
  throw new ForeignKeyFile(path, owner, user);
}

/**
 * The key in `path`, made on first use: for the embedded SQLite store only, where the key file
 * sits beside the database it protects and only its owner may read it (mode 0600; a file other
 * users may read or write is refused, {@link SharedKeyFile}, and so is one another user owns,
 * {@link ForeignKeyFile}). Servers that share PostgreSQL must be given the same configured keys
 * instead.
 */
export function keyFromFile(path: string): SealingKey {
  return readKeyFile(path) ?? makeKeyFile(path);
}

/** The key in `path`; undefined where there is no file. */
function readKeyFile(path: string): SealingKey | undefined {
  let descriptor: number;
  try {
    descriptor = openSync(path, "r");
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === "ENOENT") return undefined;
    // A file this user may not open is most often one another user owns (copied or restored
    // as them): named so, with the fix, rather than as unreadable.
    const owner = code === "EACCES" ? ownerOf(path) : undefined;
    if (owner !== undefined) refuseForeignKeyFile(path, owner);
    throw new Error(`Cannot read the encryption key file ${path}.`, { cause: error });
  }
  // The checks and the read go through one descriptor: the file checked is the file read.
  try {
    refuseSharedKeyFile(path, fstatSync(descriptor));
    return decodeKeys([JSON.parse(readFileSync(descriptor, "utf8")) as ConfiguredKey])[0];
  } catch (error) {
    if (error instanceof SharedKeyFile || error instanceof ForeignKeyFile) throw error;
    throw new Error(`Cannot read the encryption key file ${path}.`, { cause: error });
  } finally {
    closeSync(descriptor);
  }
}

/** The user id of the owner of the file at `path`; undefined where it cannot be found. */
function ownerOf(path: string): number | undefined {
  try {
    return statSync(path).uid;
  } catch {
    return undefined;
  }
}

/**
 * Makes the key file at `path` with a new key, or reads the one another process made first.
 * The key is written and flushed under a name of its own beside `path`, then linked to `path`:
 * a link never replaces a file, so of several processes starting at once one links and the
 * others read its key (EEXIST), and no reader sees the file before it holds the whole key (an
 * exclusive create of `path` itself, written after, let a start in between read it empty).
 */
function makeKeyFile(path: string): SealingKey {
  const created: ConfiguredKey = {
    id: `local-${randomBytes(4).toString("hex")}`,
    key: randomBytes(32).toString("base64"),
  };
  const folder = dirname(path);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const partial = join(folder, `.${basename(path)}.${randomBytes(8).toString("hex")}.partial`);
  let linked: boolean;
  try {
    // On disk before its name is: the store's checkpoints flush what the key seals, and a crash
    // that left the file unwritten (empty, or gone) would leave those values sealed with a key
    // that nothing holds any more.
    const descriptor = openSync(partial, "wx", 0o600);
    try {
      writeFileSync(descriptor, `${JSON.stringify(created)}\n`);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    linked = link(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
  // The folder entry too, before the key seals anything: this process's link, or the one of the
  // process that linked first, which may not have flushed it yet.
  flush(folder);
  if (linked) return decodeKeys([created])[0] as SealingKey;
  const theirs = readKeyFile(path);
  if (theirs !== undefined) return theirs;
  // A link to no file (which a link does not replace), or a file removed since its maker linked
  // it: a key made now could differ from the one its maker seals with.
  throw new Error(
    `The encryption key file ${path} cannot be made: a symbolic link to no file is there, or it was removed as it was made. Restore the file it links to, or remove the link.`,
  );
}

/** Links `to` to the file at `from`; false when a file is there already. */
function link(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code === "EEXIST") return false;
    throw new Error(
      `Cannot make the encryption key file ${to}: its folder's file system refused to link it (${code}). Keep the store on a file system with hard links, or configure encryptionKeys.`,
      { cause: error },
    );
  }
}

/**
 * Flushes a folder's entries (a file made in it) to the disk. POSIX only: Windows opens no
 * folder as a file (EISDIR), and its file systems journal a new entry themselves.
 */
function flush(folder: string): void {
  if (process.platform === "win32") return;
  const descriptor = openSync(folder, "r");
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
