// Threat: a verifier that accepts codes outside one step of drift (RFC 6238 §5.2, checklist §6
// T2) widens the guessing window; one that accepts malformed input may compare it loosely.
// Codes come from the real `oathtool` binary (Debian's oath-toolkit), the peer authenticator.
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { Secret, TOTP } from "otpauth";
import { describe, expect, it } from "vitest";
import type { TotpParameters } from "../../app/authenticators/totp-protocol.js";
import { createTotpProtocol, newTotpSecret, provisionTotp, verifyTotp } from "./index.js";
import { oathtoolCode } from "./test-support/oathtool.js";

const SHA1_6: TotpParameters = { algorithm: "SHA1", digits: 6, period: 30 };
const NOW = new Date("2026-11-23T12:00:10.000Z");
const STEP = Math.floor(NOW.getTime() / 30_000);

/** A code from oathtool for the step `offset` steps from NOW. */
const oathtool = (secret: string, offset: number, parameters = SHA1_6): string =>
  oathtoolCode(secret, new Date(NOW.getTime() + offset * parameters.period * 1000), parameters);

const verify = (secret: string, code: string, parameters = SHA1_6) =>
  verifyTotp(secret, code, NOW, parameters, { window: 1 });

describe("TOTP verification against oathtool", () => {
  const secret = createTotpProtocol().newSecret();

  it("makes 160-bit secrets, base32 without padding, different each time", () => {
    const another = createTotpProtocol().newSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(Secret.fromBase32(secret).bytes).toHaveLength(20);
    expect(another).not.toBe(secret);
    expect(() => newTotpSecret(randomBytes(19))).toThrow(/at least 20 bytes/);
  });

  it.each([-1, 0, 1])("accepts oathtool's code %i step(s) away, reporting its step", (offset) => {
    expect(verify(secret, oathtool(secret, offset))).toEqual({ ok: true, step: STEP + offset });
  });

  it.each([-2, 2, -3, 3])("refuses oathtool's code %i steps away", (offset) => {
    expect(verify(secret, oathtool(secret, offset))).toMatchObject({
      ok: false,
      code: "totp.wrong_code",
    });
  });

  it.each([
    { algorithm: "SHA256", digits: 8, period: 30 },
    { algorithm: "SHA512", digits: 8, period: 30 },
    { algorithm: "SHA1", digits: 8, period: 30 },
  ] as const)("accepts oathtool's $algorithm $digits-digit code", (parameters) => {
    expect(verify(secret, oathtool(secret, 0, parameters), parameters)).toEqual({
      ok: true,
      step: STEP,
    });
  });

  it.each(["", "12345", "1234567", "12345a", " 123456", "１２３４５６", "-12345"])(
    "refuses %j as malformed",
    (code) => {
      expect(verify(secret, code)).toMatchObject({ ok: false, code: "totp.malformed_code" });
    },
  );

  it("refuses every 6-digit code other than those of now-1, now and now+1", () => {
    const valid = new Set([-1, 0, 1].map((offset) => oathtool(secret, offset)));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), (n) => {
        const code = String(n).padStart(6, "0");
        const result = verify(secret, code);
        expect(result.ok).toBe(valid.has(code));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("TOTP provisioning", () => {
  it("writes an otpauth:// URI with issuer, label and parameters, that otpauth reads back, and its QR code", async () => {
    const secret = createTotpProtocol().newSecret();
    const { uri, qrSvg } = await provisionTotp({
      secret,
      issuer: "Acme Corp",
      label: "alice@acme.example",
      parameters: { algorithm: "SHA256", digits: 8, period: 30 },
    });
    expect(uri.startsWith("otpauth://totp/Acme%20Corp:alice%40acme.example?")).toBe(true);
    const url = new URL(uri);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      issuer: "Acme Corp",
      secret,
      algorithm: "SHA256",
      digits: "8",
      period: "30",
    });
    const parsed = new TOTP({
      secret: Secret.fromBase32(secret),
      algorithm: "SHA256",
      digits: 8,
    });
    expect(
      verify(secret, parsed.generate({ timestamp: NOW.getTime() }), {
        algorithm: "SHA256",
        digits: 8,
        period: 30,
      }),
    ).toEqual({ ok: true, step: STEP });
    expect(qrSvg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });
});
