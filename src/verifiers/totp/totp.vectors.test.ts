// Threat: a TOTP implementation that differs from RFC 6238 (wrong truncation, HMAC, or step
// arithmetic past 2^32) either locks users out or accepts codes an attacker can compute.
// The RFC 6238 Appendix B vectors (SECURITY-CHECKLIST §6 T1) are checked through our verifier.
import { describe, expect, it } from "vitest";
import type { TotpAlgorithm } from "../../app/authenticators/totp-protocol.js";
import { newTotpSecret, verifyTotp } from "./index.js";

const ascii = "12345678901234567890";
const SEEDS: Record<TotpAlgorithm, string> = {
  SHA1: newTotpSecret(Buffer.from(ascii, "ascii")),
  SHA256: newTotpSecret(Buffer.from(ascii.repeat(2).slice(0, 32), "ascii")),
  SHA512: newTotpSecret(Buffer.from(ascii.repeat(4).slice(0, 64), "ascii")),
};

// RFC 6238 Appendix B: t, T, and the 8-digit codes for SHA-1, SHA-256, SHA-512.
const VECTORS: readonly [number, number, string, string, string][] = [
  [59, 0x1, "94287082", "46119246", "90693936"],
  [1111111109, 0x23523ec, "07081804", "68084774", "25091201"],
  [1111111111, 0x23523ed, "14050471", "67062674", "99943326"],
  [1234567890, 0x273ef07, "89005924", "91819424", "93441116"],
  [2000000000, 0x3f940aa, "69279037", "90698825", "38618901"],
  [20000000000, 0x27bc86aa, "65353130", "77737706", "47863826"],
];

describe("RFC 6238 Appendix B", () => {
  for (const [t, step, sha1, sha256, sha512] of VECTORS) {
    for (const [algorithm, code] of [
      ["SHA1", sha1],
      ["SHA256", sha256],
      ["SHA512", sha512],
    ] as const) {
      it(`accepts ${algorithm} ${code} at t=${String(t)} as step ${step.toString(16)}`, () => {
        const result = verifyTotp(
          SEEDS[algorithm],
          code,
          new Date(t * 1000),
          { algorithm, digits: 8, period: 30 },
          { window: 0 },
        );
        expect(result).toEqual({ ok: true, step });
      });
    }
  }

  it("accepts the 6-digit SHA-1 code at t=59 (287082)", () => {
    expect(
      verifyTotp(
        SEEDS.SHA1,
        "287082",
        new Date(59_000),
        { algorithm: "SHA1", digits: 6, period: 30 },
        { window: 0 },
      ),
    ).toEqual({ ok: true, step: 1 });
  });

  it("places t=20000000000 past 2^32 steps of seconds (T1)", () => {
    expect(0x27bc86aa * 30).toBeGreaterThan(2 ** 32);
  });
});
