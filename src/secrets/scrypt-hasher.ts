import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import type { SecretHasher } from "../app/ports.js";

/** scrypt's cost: N = 2^log2N, block size r, parallelism p (RFC 7914 §2). */
export interface ScryptCost {
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * N = 2^14, r = 8, p = 1: 16 MiB and some tens of milliseconds a hash. Recovery codes carry 80
 * secret bits, so an offline attacker faces 2^79 guesses at that price each; the slow hash is
 * what SP 800-63B-4 asks of look-up secrets under 112 bits, not the main defence. Stored hashes
 * name their cost, so a later, higher default leaves them verifiable.
 */
export const DEFAULT_SCRYPT_COST: ScryptCost = Object.freeze({ log2N: 14, r: 8, p: 1 });

const SALT_BYTES = 16;
const HASH_BYTES = 32;
// Bounds for costs read back from the store: a tampered row must not make a hash take minutes.
const MAX = { log2N: 20, r: 32, p: 16 } as const;
const STORED =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * A {@link SecretHasher} over node:crypto's scrypt with a fresh 16-byte salt per hash. Values
 * read `$scrypt$ln=14,r=8,p=1$<salt>$<hash>` (PHC string format, unpadded base64) and are
 * compared with `timingSafeEqual`.
 */
export function createScryptHasher(cost: ScryptCost = DEFAULT_SCRYPT_COST): SecretHasher {
  if (!withinBounds(cost)) throw new Error("The scrypt cost is out of bounds.");
  return {
    async hash(secret) {
      const salt = randomBytes(SALT_BYTES);
      const hash = await derive(secret, salt, HASH_BYTES, cost);
      return `$scrypt$ln=${String(cost.log2N)},r=${String(cost.r)},p=${String(cost.p)}$${b64(salt)}$${b64(hash)}`;
    },
    async verify(secret, stored) {
      const parts = STORED.exec(stored);
      if (parts === null) return false;
      const [, log2N, r, p, salt = "", hash = ""] = parts;
      const storedCost = { log2N: Number(log2N), r: Number(r), p: Number(p) };
      const expected = Buffer.from(hash, "base64");
      if (!withinBounds(storedCost) || expected.length < 16) return false;
      const actual = await derive(secret, Buffer.from(salt, "base64"), expected.length, storedCost);
      return timingSafeEqual(actual, expected);
    },
  };
}

function withinBounds({ log2N, r, p }: ScryptCost): boolean {
  const whole = (n: number, max: number) => Number.isInteger(n) && n >= 1 && n <= max;
  return whole(log2N, MAX.log2N) && whole(r, MAX.r) && whole(p, MAX.p);
}

function derive(secret: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  const options: ScryptOptions = {
    N,
    r: cost.r,
    p: cost.p,
    // Node's default limit (32 MiB) is just under what N = 2^15, r = 8 needs.
    maxmem: 256 * N * cost.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize("NFC"), salt, length, options, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

const b64 = (bytes: Buffer): string => bytes.toString("base64").replace(/=+$/, "");
