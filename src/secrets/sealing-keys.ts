import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
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
 * only; nothing to refuse where the file is absent.
 */
function refuseSharedKeyFile(path: string): void {
  if (process.platform === "win32") return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new SharedKeyFile(path, mode);
}

/**
 * The key in `path`, made on first use: for the embedded SQLite store only, where the key file
 * sits beside the database it protects and only its owner may read it (mode 0600; a file other
 * users may read or write is refused, {@link SharedKeyFile}). Servers that
 * share PostgreSQL must be given the same configured keys instead.
 */
export function keyFromFile(path: string): SealingKey {
  try {
    refuseSharedKeyFile(path);
    return decodeKeys([JSON.parse(readFileSync(path, "utf8")) as ConfiguredKey])[0] as SealingKey;
  } catch (error) {
    if (error instanceof SharedKeyFile) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`Cannot read the encryption key file ${path}.`, { cause: error });
    }
  }
  const created: ConfiguredKey = {
    id: `local-${randomBytes(4).toString("hex")}`,
    key: randomBytes(32).toString("base64"),
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // `wx`: of two processes starting at once, one writes and the other reads what it wrote.
  let descriptor: number;
  try {
    descriptor = openSync(path, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return keyFromFile(path);
    throw error;
  }
  // On disk, with its folder entry, before the key seals anything: the store's checkpoints
  // flush what it seals, and a crash that left the file unwritten (empty, or gone) would leave
  // those values sealed with a key that nothing holds any more.
  try {
    writeFileSync(descriptor, `${JSON.stringify(created)}\n`);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  flush(dirname(path));
  return decodeKeys([created])[0] as SealingKey;
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
