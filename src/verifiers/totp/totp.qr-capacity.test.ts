// Threat: an enrolment that cannot be shown. The key URI carries the tenant's name (up to 200
// characters) as issuer, twice, and the principal's display name (up to 500) as account, each
// percent-encoded: CJK text takes 9 bytes a character, so long names overflowed the largest QR
// code (2331 bytes at level M) and the enrolment answered 500. Each name is cut to
// TOTP_NAME_MAX_CHARS characters, never inside a character, so that any names make a QR code,
// read back by otpauth's own parser as an app reads it.
import fc from "fast-check";
import { URI } from "otpauth";
import { describe, expect, it } from "vitest";
import type { TotpParameters } from "../../app/authenticators/totp-protocol.js";
import { createTotpProtocol, provisionTotp, TOTP_NAME_MAX_CHARS } from "./index.js";

const secret = createTotpProtocol().newSecret();
const SHA512_8: TotpParameters = { algorithm: "SHA512", digits: 8, period: 30 };

const name = (maxLength: number) =>
  fc
    .string({ unit: "grapheme", minLength: 1, maxLength })
    .filter((s) => !s.includes(":") && s.trim() !== "");

describe("the key URI's names", () => {
  it("make a QR code however long and wide their characters, within the API's limits", async () => {
    for (const [issuer, label] of [
      ["株".repeat(200), "山".repeat(500)],
      ["😀".repeat(200), "😀".repeat(500)],
      ["%".repeat(200), "&".repeat(500)],
    ] as const) {
      const { uri, qrSvg } = await provisionTotp({ secret, issuer, label, parameters: SHA512_8 });
      expect(qrSvg).toMatch(/^<svg/);
      const parsed = URI.parse(uri);
      expect(Array.from(parsed.issuer)).toHaveLength(TOTP_NAME_MAX_CHARS);
      expect(Array.from(parsed.label)).toHaveLength(TOTP_NAME_MAX_CHARS);
      expect(parsed.issuer.endsWith("…")).toBe(true);
    }
  });

  it("are each the name itself, or its start and an ellipsis, never a split character", async () => {
    await fc.assert(
      fc.asyncProperty(
        // What the API stores: a tenant name of 1–200 and a display name of 1–500 characters
        // (an empty one falls back to the id); colons are the key URI test's business.
        name(200),
        name(500),
        async (issuer, label) => {
          const { uri, qrSvg } = await provisionTotp({
            secret,
            issuer: issuer.trim(),
            label: label.trim(),
            parameters: SHA512_8,
          });
          expect(qrSvg).toMatch(/^<svg/);
          const parsed = URI.parse(uri);
          for (const [shown, name] of [
            [parsed.issuer, issuer.trim()],
            [parsed.label, label.trim()],
          ] as const) {
            const chars = Array.from(shown);
            expect(chars.length).toBeLessThanOrEqual(TOTP_NAME_MAX_CHARS);
            if (shown !== name) {
              expect(shown.endsWith("…")).toBe(true);
              expect(name.startsWith(shown.slice(0, -1))).toBe(true);
            }
            // A lone surrogate is half a character: what cutting inside one would leave.
            expect(shown).not.toMatch(/\p{Cs}/u);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps names up to the limit whole", async () => {
    const issuer = "A".repeat(TOTP_NAME_MAX_CHARS);
    const label = "山".repeat(TOTP_NAME_MAX_CHARS);
    const parsed = URI.parse(
      (await provisionTotp({ secret, issuer, label, parameters: SHA512_8 })).uri,
    );
    expect([parsed.issuer, parsed.label]).toEqual([issuer, label]);
  });
});
