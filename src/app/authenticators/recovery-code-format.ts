/**
 * How a recovery code reads: 20 characters of Crockford's base32 in five groups of four
 * (`7KQ2-M9XD-…`), 100 random bits. The first group is the locator, which finds the stored code
 * without trying every hash; the other 16 characters (80 bits) are the secret part, so a code
 * keeps more than the 64 bits SP 800-63B-4 asks of saved recovery codes even when its locator is
 * known. People type codes back: case, dashes and spaces do not matter, and the letters Crockford
 * reads as digits (I and L as 1, O as 0) are read so.
 *
 * @module
 */

/** Crockford's base32: digits and letters without I, L, O and U. */
export const RECOVERY_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Characters in a code, without separators. */
export const RECOVERY_CODE_LENGTH = 20;
/** Characters of the locator, at the start of the code. */
export const RECOVERY_CODE_LOCATOR_LENGTH = 4;
/** Random bytes needed for one code (104 bits; the first 100 are used). */
export const RECOVERY_CODE_BYTES = 13;
/** Longer input is refused before it is read: no code needs that many separators. */
const MAX_INPUT = 64;

// ASCII only, so that no case mapping of another script (`ſ` upper-cases to `S`) makes a code.
const TYPED = /^[0-9A-Za-z -]*$/;
const CANONICAL = new RegExp(`^[${RECOVERY_CODE_ALPHABET}]{${String(RECOVERY_CODE_LENGTH)}}$`);

/** A code in its canonical form (upper case, no separators) and its locator. */
export interface ParsedRecoveryCode {
  readonly canonical: string;
  readonly locator: string;
}

/** A new code as shown to the principal (`7KQ2-M9XD-…`: five groups of four), from 13 random bytes. */
export function formatRecoveryCode(bytes: Uint8Array): string {
  if (bytes.length < RECOVERY_CODE_BYTES) {
    throw new Error(`A recovery code needs ${String(RECOVERY_CODE_BYTES)} random bytes`);
  }
  let symbols = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes.subarray(0, RECOVERY_CODE_BYTES)) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5 && symbols.length < RECOVERY_CODE_LENGTH) {
      bits -= 5;
      symbols += RECOVERY_CODE_ALPHABET.charAt((buffer >> bits) & 31);
    }
  }
  return displayRecoveryCode(symbols);
}

/** A canonical code in the groups of four that people read and type. */
export const displayRecoveryCode = (canonical: string): string =>
  canonical.replace(/(.{4})(?=.)/g, "$1-");

/**
 * Reads a code as typed: ignores case, dashes and spaces, reads I and L as 1 and O as 0. Returns
 * undefined for anything that is not 20 base32 characters.
 */
export function parseRecoveryCode(input: string): ParsedRecoveryCode | undefined {
  if (typeof input !== "string" || input.length > MAX_INPUT || !TYPED.test(input)) {
    return undefined;
  }
  const canonical = input
    .replace(/[ -]/g, "")
    .toUpperCase()
    .replace(/[IL]/g, "1")
    .replace(/O/g, "0");
  if (!CANONICAL.test(canonical)) return undefined;
  return { canonical, locator: canonical.slice(0, RECOVERY_CODE_LOCATOR_LENGTH) };
}
