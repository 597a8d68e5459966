import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatRecoveryCode,
  parseRecoveryCode,
  RECOVERY_CODE_ALPHABET,
  RECOVERY_CODE_BYTES,
} from "./recovery-code-format.js";

const hex = (value: string) => Uint8Array.from(Buffer.from(value, "hex"));

describe("recovery code format", () => {
  // Expected values: RFC 4648 base32 of the bytes (Python's base64.b32encode), first 20
  // symbols, each mapped position for position onto Crockford's alphabet.
  it.each([
    ["00000000000000000000000000", "0000-0000-0000-0000-0000"],
    ["ffffffffffffffffffffffffff", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"],
    ["0123456789abcdeffedcba9876", "04HM-ASW9-NF6Y-ZZPW-QAC7"],
    ["8421084210842108421084210f", "GGGG-GGGG-GGGG-GGGG-GGGG"],
  ])("formats %s as %s", (bytes, code) => {
    expect(formatRecoveryCode(hex(bytes))).toBe(code);
  });

  it("uses the first 100 random bits: every one of them changes the code, the last 4 do not", () => {
    const zero = new Uint8Array(RECOVERY_CODE_BYTES);
    const codes = new Set<string>();
    for (let bit = 0; bit < RECOVERY_CODE_BYTES * 8; bit += 1) {
      const bytes = zero.slice();
      bytes[bit >> 3] = 0x80 >> (bit & 7);
      codes.add(formatRecoveryCode(bytes));
    }
    // 100 distinct codes for the first 100 bits, plus the all-zero code the last four give.
    expect(codes.size).toBe(101);
    expect(codes).toContain(formatRecoveryCode(zero));
  });

  it("refuses fewer than 13 random bytes", () => {
    expect(() => formatRecoveryCode(new Uint8Array(12))).toThrow();
  });

  it("reads back every code it formats, however typed", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: RECOVERY_CODE_BYTES, maxLength: RECOVERY_CODE_BYTES }),
        (bytes) => {
          const code = formatRecoveryCode(bytes);
          const canonical = code.replace(/-/g, "");
          const expected = { canonical, locator: canonical.slice(0, 4) };
          expect(parseRecoveryCode(code)).toEqual(expected);
          expect(parseRecoveryCode(code.toLowerCase())).toEqual(expected);
          expect(parseRecoveryCode(canonical)).toEqual(expected);
          expect(parseRecoveryCode(` ${code.replace(/-/g, " ")} `)).toEqual(expected);
          expect(parseRecoveryCode(code.replace(/1/g, "I").replace(/0/g, "o"))).toEqual(expected);
        },
      ),
    );
  });

  it("refuses anything that is not 20 symbols of the alphabet", () => {
    for (const input of [
      "",
      "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZ",
      "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZ",
      "UUUU-UUUU-UUUU-UUUU-UUUU",
      "ZZZZ_ZZZZ_ZZZZ_ZZZZ_ZZZZ",
      "ZZZZ\tZZZZ\tZZZZ\tZZZZ\tZZZZ",
      "ZZZZ\u00a0ZZZZ ZZZZ ZZZZ ZZZZ",
      "ſſſſ-ſſſſ-ſſſſ-ſſſſ-ſſſſ",
      "ＺＺＺＺ-ＺＺＺＺ-ＺＺＺＺ-ＺＺＺＺ-ＺＺＺＺ",
      `${"-".repeat(60)}ZZZZZZZZZZZZZZZZZZZZ`,
    ]) {
      expect(parseRecoveryCode(input), JSON.stringify(input)).toBeUndefined();
    }
  });

  it("has 32 symbols without I, L, O and U", () => {
    expect(new Set(RECOVERY_CODE_ALPHABET).size).toBe(32);
    expect(RECOVERY_CODE_ALPHABET).not.toMatch(/[ILOU]/);
  });
});
