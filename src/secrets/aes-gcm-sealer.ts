import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { SecretSealer } from "../app/ports.js";

/** One AES-256 key and the id that sealed values name it by. */
export interface SealingKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Buffer;
}

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals secrets with AES-256-GCM (DESIGN invariant 6). A sealed value reads
 * `v1.<key id>.<iv>.<ciphertext+tag>` (base64url): the key id lets keys rotate (seal with the
 * first, open with any), and the caller's `context` (say, `idp:acme:okta:client_secret`) is
 * authenticated data, so a sealed value copied onto another record does not open. Throws when no
 * key is given, a key is not 32 bytes, or two keys share an id.
 */
export function createAesGcmSealer(keys: readonly SealingKey[]): SecretSealer {
  const first = keys[0];
  if (first === undefined) throw new Error("At least one encryption key is needed.");
  const seen = new Set<string>();
  for (const { id, key } of keys) {
    if (key.length !== 32) throw new Error(`Encryption key ${id} must be 32 bytes.`);
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`Encryption key id ${id} must be base64url.`);
    // Sealed values name their key by id: with two keys of one id, what the first seals the
    // other would be asked to open, and it never would.
    if (seen.has(id)) throw new Error(`Encryption key id ${id} is given to more than one key.`);
    seen.add(id);
  }
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", first.key, iv);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([
        cipher.update(plaintext, "utf8"),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return [VERSION, first.id, iv.toString("base64url"), body.toString("base64url")].join(".");
    },
    open(sealed, context) {
      const [version, id, iv, body, ...rest] = sealed.split(".");
      const key = id === undefined ? undefined : byId.get(id);
      if (
        version !== VERSION ||
        key === undefined ||
        iv === undefined ||
        body === undefined ||
        rest.length > 0
      ) {
        throw new Error("The sealed value is malformed or its key is not configured.");
      }
      const bytes = Buffer.from(body, "base64url");
      if (bytes.length < TAG_BYTES) throw new Error("The sealed value is malformed.");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      // final() throws when the tag does not verify: a tampered value, a wrong key or context.
      return Buffer.concat([
        decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
    },
  };
}
