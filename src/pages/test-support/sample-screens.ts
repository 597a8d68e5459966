import QRCode from "qrcode";
import type { FlowFrame, FlowScreen } from "../../app/flows/flow-screens.js";
import { reason } from "../../core/reasons.js";
import type { PageScreen } from "../render-flow-screen.js";

/**
 * One screen of every kind, as the flow use cases would decide them, for the renderer, route
 * and browser tests. The QR code is the real `qrcode` output for the URI, as the TOTP verifier
 * makes it.
 *
 * @module
 */

/** A tenant's logo as a data URL (`img-src data:`): a blue square with a white "A". */
const LOGO = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" rx="8" fill="#1e3a8a"/><path d="M12 30 20 10l8 20h-4l-1.6-4h-4.8L16 30zm5.6-7h4.8L20 16.5z" fill="#fff"/></svg>',
)}`;

export const FRAME: FlowFrame = {
  tenant: { id: "acme", name: "Acme Corporation", logoUrl: LOGO },
  flow: "flw_7Hk2pQ",
  principal: { id: "alice", displayName: "Alice Martin" },
  csrfToken: "csrf-token-123",
  expiresAt: "2026-12-05T09:10:00.000Z",
  stepUp: false,
  formTargets: ["https://app.example.com", "https://idp.acme.example"],
};

const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const URI = `otpauth://totp/Acme%20Corporation:alice?secret=${SECRET}&issuer=Acme%20Corporation`;

/** A screen of each kind (and variants worth a look), by name. */
export async function sampleScreens(): Promise<Record<string, PageScreen>> {
  const qrSvg = await QRCode.toString(URI, { type: "svg", errorCorrectionLevel: "M" });
  return {
    challenge: {
      kind: "challenge",
      frame: FRAME,
      options: [
        { kind: "verify_webauthn" },
        { kind: "verify_totp", authenticators: [{ id: "auth_1", name: "Phone" }] },
        { kind: "verify_recovery_code" },
      ],
      proven: ["password"],
    },
    "challenge-error": {
      kind: "challenge",
      frame: { ...FRAME, stepUp: true },
      options: [
        {
          kind: "verify_totp",
          authenticators: [
            { id: "auth_1", name: "Phone" },
            { id: "auth_2", name: "Tablet" },
          ],
        },
      ],
      notice: { code: "totp.invalid_code", tone: "error" },
      proven: [],
    },
    "challenge-enrol": {
      kind: "challenge",
      frame: FRAME,
      options: [
        { kind: "enroll_webauthn", deviceBound: false },
        { kind: "enroll_totp" },
        { kind: "idp", idp: "corp", name: "Acme SSO" },
        { kind: "reauthenticate", location: "https://app.example.com/login?error=reauthenticate" },
      ],
      proven: ["password"],
    },
    enroll_totp: {
      kind: "enroll_totp",
      frame: FRAME,
      authenticator: "auth_3",
      secret: SECRET,
      uri: URI,
      qrSvg,
    },
    enroll_webauthn: {
      kind: "enroll_webauthn",
      frame: FRAME,
      deviceBound: true,
      notice: { code: "webauthn.failed", tone: "error" },
    },
    exemption: {
      kind: "exemption",
      frame: FRAME,
      category: "break_glass",
      expiresAt: "2026-12-06T18:00:00.000Z",
      breakGlass: true,
    },
    report_only: {
      kind: "report_only",
      frame: FRAME,
      enforcementStartsAt: "2027-01-15T00:00:00.000Z",
      options: [{ kind: "enroll_webauthn", deviceBound: false }, { kind: "enroll_totp" }],
    },
    denied: {
      kind: "denied",
      frame: FRAME,
      reasons: [reason("requirement.unmet.phishing_resistance"), reason("challenge.unavailable")],
      decision: "dec_01JB8Z3Q4R5S6T7U8V9W",
      returnTo: "https://app.example.com/callback?error=access_denied",
    },
    failed: { kind: "failed", code: "flow.expired", tenant: FRAME.tenant },
  };
}

/** Every screen kind the renderer knows, so that a test can prove it covers them all. */
export const RENDERED_KINDS: readonly Exclude<FlowScreen["kind"], "redirect">[] = [
  "challenge",
  "enroll_totp",
  "enroll_webauthn",
  "exemption",
  "report_only",
  "denied",
  "failed",
];
