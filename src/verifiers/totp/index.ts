import { randomBytes, timingSafeEqual } from "node:crypto";
import { Secret, TOTP } from "otpauth";
import QRCode from "qrcode";
import type {
  TotpParameters,
  TotpProtocol,
  TotpProvisioning,
  TotpVerification,
} from "../../app/authenticators/totp-protocol.js";

/** RFC 4226 §4 R6 recommends 160 bits; NIST SP 800-63B asks at least 112. */
export const TOTP_SECRET_BYTES = 20;
const BASE32 = /^[A-Z2-7]+=*$/;

/** The TOTP verifier over `otpauth`, with QR codes from `qrcode`. */
export function createTotpProtocol(): TotpProtocol {
  return {
    newSecret: () => newTotpSecret(randomBytes(TOTP_SECRET_BYTES)),
    provisioning: provisionTotp,
    verify: ({ secret, code, now, parameters, window }) =>
      verifyTotp(secret, code, now, parameters, { window: window ?? 1 }),
  };
}

/** A secret as base32 (unpadded, as authenticator apps expect), from at least 20 random bytes. */
export function newTotpSecret(bytes: Uint8Array): string {
  if (bytes.length < TOTP_SECRET_BYTES) {
    throw new Error(`A TOTP secret needs at least ${String(TOTP_SECRET_BYTES)} bytes`);
  }
  return new Secret({ buffer: Uint8Array.from(bytes).buffer }).base32.replace(/=+$/, "");
}

/**
 * The most characters (code points) of the issuer and of the account name that the key URI
 * carries; a longer one is cut, ending in "…". Apps show a few dozen at most, and the URI must fit
 * a QR code (2331 bytes at level M): the issuer appears twice, and a character percent-encoded
 * takes up to 12 bytes, so the URI stays under about 1,600 bytes whatever the names.
 */
export const TOTP_NAME_MAX_CHARS = 40;

/**
 * The `otpauth://` key URI (Google Authenticator key-uri format) and its QR code. Its label is
 * `issuer:account`, and apps split it at a colon, encoded or not: neither part may hold one, so
 * a colon in either (with the spaces around it) becomes a space. Each part is cut to
 * {@link TOTP_NAME_MAX_CHARS}, so that any tenant name and display name can be shown.
 */
export async function provisionTotp(input: {
  readonly secret: string;
  readonly issuer: string;
  readonly label: string;
  readonly parameters: TotpParameters;
}): Promise<TotpProvisioning> {
  const uri = totpFor(
    input.secret,
    input.parameters,
    shortened(withoutColons(input.issuer)),
    shortened(withoutColons(input.label)),
  ).toString();
  const qrSvg = await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M" });
  return { uri, qrSvg };
}

/**
 * Verifies `code` at `now`: every step of the window is computed and compared in constant time,
 * without stopping at the first match, so the time taken tells nothing of which step matched.
 */
export function verifyTotp(
  secret: string,
  code: string,
  now: Date,
  parameters: TotpParameters,
  { window }: { window: number },
): TotpVerification {
  // Checked before the code is read as bytes: reading it as ASCII keeps each character's low
  // byte, so a look-alike digit (U+0131, or full-width and Arabic-Indic ones) could become one.
  if (!isAsciiDigits(code, parameters.digits)) {
    return {
      ok: false,
      code: "totp.malformed_code",
      detail: `A code is ${String(parameters.digits)} digits.`,
    };
  }
  const totp = totpFor(secret, parameters);
  const current = Math.floor(now.getTime() / 1000 / parameters.period);
  const given = Buffer.from(code, "ascii");
  let matched: number | undefined;
  // RFC 6238 §5.2: at most `window` steps of drift either way.
  for (let step = current - window; step <= current + window; step += 1) {
    const expected = Buffer.from(
      totp.generate({ timestamp: step * parameters.period * 1000 }),
      "ascii",
    );
    if (timingSafeEqual(expected, given)) matched = step;
  }
  return matched === undefined
    ? { ok: false, code: "totp.wrong_code", detail: "The code does not match." }
    : { ok: true, step: matched };
}

/** Whether `code` is exactly `digits` characters, each an ASCII digit U+0030–U+0039. */
function isAsciiDigits(code: string, digits: number): boolean {
  if (code.length !== digits) return false;
  for (let i = 0; i < code.length; i += 1) {
    const unit = code.charCodeAt(i);
    if (unit < 0x30 || unit > 0x39) return false;
  }
  return true;
}

const withoutColons = (text: string): string =>
  text
    .split(":")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .join(" ");

/** `text` cut to {@link TOTP_NAME_MAX_CHARS} code points (a surrogate pair is never split). */
function shortened(text: string): string {
  const chars = Array.from(text);
  if (chars.length <= TOTP_NAME_MAX_CHARS) return text;
  return `${chars
    .slice(0, TOTP_NAME_MAX_CHARS - 1)
    .join("")
    .trimEnd()}…`;
}

function totpFor(secret: string, parameters: TotpParameters, issuer = "", label = "OTPAuth"): TOTP {
  if (!BASE32.test(secret)) throw new Error("A TOTP secret is base32");
  return new TOTP({
    issuer,
    label,
    issuerInLabel: issuer !== "",
    secret: Secret.fromBase32(secret),
    algorithm: parameters.algorithm,
    digits: parameters.digits,
    period: parameters.period,
  });
}
