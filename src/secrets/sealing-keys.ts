import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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

/**
 * The key in `path`, made on first use: for the embedded SQLite store only, where the key file
 * sits beside the database it protects and only its owner may read it (mode 0600). Servers that
 * share PostgreSQL must be given the same configured keys instead.
 */
export function keyFromFile(path: string): SealingKey {
  try {
    return decodeKeys([JSON.parse(readFileSync(path, "utf8")) as ConfiguredKey])[0] as SealingKey;
  } catch (error) {
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
  try {
    writeFileSync(path, `${JSON.stringify(created)}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return keyFromFile(path);
    throw error;
  }
  return decodeKeys([created])[0] as SealingKey;
}
