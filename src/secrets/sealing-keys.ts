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
 * Refuses a key file whose mode lets its group or others in, as ssh refuses such a private key:
 * the file is made 0600, so a looser mode is a copy or a restore that widened it. POSIX modes
 * only.
 */
function refuseSharedKeyFile(path: string, descriptor: number): void {
  if (process.platform === "win32") return;
  const mode = fstatSync(descriptor).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new SharedKeyFile(path, mode);
}

/**
 * The key in `path`, made on first use: for the embedded SQLite store only, where the key file
 * sits beside the database it protects and only its owner may read it (mode 0600; a file other
 * users may read or write is refused, {@link SharedKeyFile}). Servers that share PostgreSQL must
 * be given the same configured keys instead.
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
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`Cannot read the encryption key file ${path}.`, { cause: error });
  }
  // The checks and the read go through one descriptor: the file checked is the file read.
  try {
    refuseSharedKeyFile(path, descriptor);
    return decodeKeys([JSON.parse(readFileSync(descriptor, "utf8")) as ConfiguredKey])[0];
  } catch (error) {
    if (error instanceof SharedKeyFile) throw error;
    throw new Error(`Cannot read the encryption key file ${path}.`, { cause: error });
  } finally {
    closeSync(descriptor);
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
  // Removed between its link and this read: a new key now could differ from the one its maker
  // seals with.
  throw new Error(`The encryption key file ${path} went away as it was made: start again.`);
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
