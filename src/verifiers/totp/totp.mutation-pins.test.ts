// Threat: a check of the TOTP verifier that could be deleted or weakened without any other test
// noticing (a mutation survey of src/verifiers/totp). Each test pins one such check. Codes come
// from the real `oathtool` binary, the peer authenticator.
import { describe, expect, it } from "vitest";
import type { TotpParameters } from "../../app/authenticators/totp-protocol.js";
import { createTotpProtocol, verifyTotp } from "./index.js";
import { oathtoolCode } from "./test-support/oathtool.js";

const SHA1_6: TotpParameters = { algorithm: "SHA1", digits: 6, period: 30 };
/** RFC 6238 Appendix B's SHA1 seed, "12345678901234567890", in base32. */
const RFC_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const NOW = new Date("2026-11-23T12:00:10.000Z");
const at = (step: number) => new Date(step * 30_000);

describe("which step a code is taken for", () => {
  // Found by search: under the RFC seed, steps 61331809 and 61331811 (2028-04-21T18:24:30Z and
  // 18:25:30Z) give the same 6-digit code. At the step between them the code matches twice.
  const EARLIER = 61_331_809;
  const LATER = 61_331_811;

  it("reports the latest step of the window a code matches, so a repeated code cannot be used again a step later", () => {
    const code = oathtoolCode(RFC_SEED, at(EARLIER));
    expect(oathtoolCode(RFC_SEED, at(LATER))).toBe(code);
    const now = new Date(at(EARLIER + 1).getTime() + 10_000);
    // The store accepts a step only after the last accepted one (RFC 6238 §5.2): recording the
    // earlier step would let the same code through again once the window has moved on.
    expect(verifyTotp(RFC_SEED, code, now, SHA1_6, { window: 1 })).toEqual({
      ok: true,
      step: LATER,
    });
  });
});

describe("the verifier's inputs", () => {
  const secret = createTotpProtocol().newSecret();

  it("refuses a code two steps away when the caller names no window: the default is one step", () => {
    const code = oathtoolCode(secret, new Date(NOW.getTime() + 2 * 30_000));
    const result = createTotpProtocol().verify({ secret, code, now: NOW, parameters: SHA1_6 });
    expect(result).toMatchObject({ ok: false, code: "totp.wrong_code" });
  });

  it("refuses look-alike characters whose low bytes are the right digits as malformed", () => {
    // U+0130–U+0139 end in the bytes of "0"–"9": read as ASCII bytes, they would be the code.
    const code = oathtoolCode(secret, NOW);
    const lookAlike = code.replace(/[0-9]/g, (digit) =>
      String.fromCharCode(0x100 + digit.charCodeAt(0)),
    );
    expect(Buffer.from(lookAlike, "ascii").toString()).toBe(code);
    expect(verifyTotp(secret, lookAlike, NOW, SHA1_6, { window: 1 })).toMatchObject({
      ok: false,
      code: "totp.malformed_code",
    });
  });

  // The right code in other scripts' digits: each is a decimal digit to Unicode (\p{Nd}), none
  // is ASCII; all are refused before any byte conversion, as one such digit among ASCII ones is.
  it.each([
    ["full-width", 0xff10],
    ["Arabic-Indic", 0x0660],
    ["Extended Arabic-Indic", 0x06f0],
    ["Devanagari", 0x0966],
  ])("refuses the right code in %s digits as malformed", (_script, zero) => {
    const code = oathtoolCode(secret, NOW);
    const other = (digit: string) => String.fromCharCode(zero + Number(digit));
    const whole = code.replace(/[0-9]/g, other);
    const one = `${other(code.charAt(0))}${code.slice(1)}`;
    for (const given of [whole, one]) {
      expect(/^\p{Nd}+$/u.test(given)).toBe(true);
      expect(verifyTotp(secret, given, NOW, SHA1_6, { window: 1 })).toMatchObject({
        ok: false,
        code: "totp.malformed_code",
      });
    }
  });

  it.each([
    ["lower case", RFC_SEED.toLowerCase()],
    ["spaces", RFC_SEED.replace(/(.{4})/g, "$1 ").trim()],
  ])(
    "refuses to use a stored secret with %s: it is not one this service wrote",
    (_name, stored) => {
      const code = oathtoolCode(RFC_SEED, NOW);
      expect(() => verifyTotp(stored, code, NOW, SHA1_6, { window: 1 })).toThrow(/base32/);
    },
  );
});
