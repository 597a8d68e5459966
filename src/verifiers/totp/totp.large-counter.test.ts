// Threat: a TOTP verifier that keeps the step counter T in 32 bits (an `>>> 0`, a 4-byte counter
// buffer, an `Int32` on the way to HMAC) wraps at T = 2^32 (t = 128849018880 s with 30 s steps)
// and then checks codes of step T mod 2^32: it refuses every genuine code and accepts codes of
// a long-past step. RFC 6238 §4.2 requires T to work beyond 2^32 (SECURITY-CHECKLIST §6 T1);
// the Appendix B vectors stop below it. Codes come from Debian's `oathtool`, the peer
// authenticator, which reports the 64-bit counter it used.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { TotpParameters } from "../../app/authenticators/totp-protocol.js";
import { newTotpSecret, verifyTotp } from "./index.js";
import { oathtoolCode } from "./test-support/oathtool.js";

const PERIOD = 30;
const TWO_TO_32 = 2 ** 32;

/** The instant 10 s into step `step`. */
const inStep = (step: number): Date => new Date((step * PERIOD + 10) * 1000);

/** The counter oathtool itself reports for `at` (`oathtool -v` prints `Counter: 0x…`). */
function oathtoolCounter(secret: string, at: Date): number {
  const out = execFileSync(
    "/usr/bin/oathtool",
    ["--totp", "-v", "-b", secret, "-N", `@${String(Math.floor(at.getTime() / 1000))}`],
    { encoding: "utf8" },
  );
  const hex = /^Counter: 0x([0-9A-F]+) /im.exec(out)?.[1];
  if (hex === undefined) throw new Error(`oathtool printed no counter: ${out}`);
  return Number.parseInt(hex, 16);
}

describe("TOTP step counters at and beyond 2^32 (RFC 6238 §4.2)", () => {
  // The RFC 6238 Appendix B SHA-1 seed: fixed, so that no chance agreement of two codes can
  // make a run pass or fail.
  const secret = newTotpSecret(Buffer.from("12345678901234567890", "ascii"));

  // The first step past 32 bits, one just after it, and one far beyond (t = 1.5e11 s).
  const steps = [TWO_TO_32, TWO_TO_32 + 1, 5_000_000_000];

  it.each(steps)("oathtool counts step %i past 32 bits", (step) => {
    expect(step).toBeGreaterThanOrEqual(TWO_TO_32);
    expect(inStep(step).getTime() / 1000).toBeGreaterThanOrEqual(128849018880);
    expect(oathtoolCounter(secret, inStep(step))).toBe(step);
  });

  it.each(
    steps.flatMap((step) =>
      (
        [
          ["SHA1", 6],
          ["SHA256", 8],
          ["SHA512", 8],
        ] as const
      ).map(([algorithm, digits]) => ({ step, algorithm, digits })),
    ),
  )(
    "accepts oathtool's $algorithm $digits-digit code of step $step at its time and one step of drift either way, and refuses it two steps away",
    ({ step, algorithm, digits }) => {
      const parameters: TotpParameters = { algorithm, digits, period: PERIOD };
      const code = oathtoolCode(secret, inStep(step), parameters);
      const at = (offset: number) =>
        verifyTotp(secret, code, inStep(step + offset), parameters, { window: 1 });
      expect(at(0)).toEqual({ ok: true, step });
      // RFC 6238 §5.2: one step of drift either way, reported as the code's own step.
      expect(at(-1)).toEqual({ ok: true, step });
      expect(at(1)).toEqual({ ok: true, step });
      for (const offset of [-2, 2]) {
        expect(at(offset)).toMatchObject({ ok: false, code: "totp.wrong_code" });
      }
      // Without drift, only the code's own step accepts it.
      expect(verifyTotp(secret, code, inStep(step), parameters, { window: 0 })).toEqual({
        ok: true,
        step,
      });
      expect(verifyTotp(secret, code, inStep(step + 1), parameters, { window: 0 })).toMatchObject({
        ok: false,
        code: "totp.wrong_code",
      });
    },
  );

  it("never accepts, at step 2^32 + k, the code of the 32-bit wrapped step k", () => {
    const parameters: TotpParameters = { algorithm: "SHA1", digits: 6, period: PERIOD };
    for (const k of [1, 2, 3]) {
      const wrapped = oathtoolCode(secret, inStep(k), parameters);
      const genuine = [-1, 0, 1].map((d) =>
        oathtoolCode(secret, inStep(TWO_TO_32 + k + d), parameters),
      );
      expect(genuine).not.toContain(wrapped);
      expect(
        verifyTotp(secret, wrapped, inStep(TWO_TO_32 + k), parameters, { window: 1 }),
      ).toMatchObject({ ok: false, code: "totp.wrong_code" });
    }
  });
});
