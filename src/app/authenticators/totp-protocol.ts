/**
 * The port through which the authenticator use cases speak TOTP (RFC 6238). The verifier in
 * `src/verifiers/totp` implements it; the composition root wires it in. Like the SAML and OIDC
 * verifiers it is stateless: it reports the time step a code matched, and the use case makes sure
 * each step is accepted once (DESIGN invariant 7).
 *
 * @module
 */

/** The HMAC of a TOTP credential. */
export type TotpAlgorithm = "SHA1" | "SHA256" | "SHA512";

/** The parameters a TOTP credential was enrolled with, stored beside its secret. */
export interface TotpParameters {
  readonly algorithm: TotpAlgorithm;
  readonly digits: 6 | 8;
  /** Seconds per time step (RFC 6238 X). */
  readonly period: number;
}

/** SHA-1, 6 digits, 30 s: what every authenticator app understands. */
export const DEFAULT_TOTP_PARAMETERS: TotpParameters = Object.freeze({
  algorithm: "SHA1",
  digits: 6,
  period: 30,
});

/** Why a code was refused: each reason a stable code. */
export type TotpRejectionCode = "totp.malformed_code" | "totp.wrong_code";

/** A verified code's time step, or why it was refused. */
export type TotpVerification =
  | { readonly ok: true; readonly step: number }
  | { readonly ok: false; readonly code: TotpRejectionCode; readonly detail: string };

/** What an authenticator app needs to enrol the secret. */
export interface TotpProvisioning {
  /** The `otpauth://totp/…` key URI. */
  readonly uri: string;
  /** The same URI as a QR code, an SVG document. */
  readonly qrSvg: string;
}

/** TOTP: new secrets, provisioning and verification. */
export interface TotpProtocol {
  /** A new random secret of 160 bits (RFC 4226 §4 R6), base32 without padding. */
  newSecret(): string;
  provisioning(input: {
    readonly secret: string;
    readonly issuer: string;
    readonly label: string;
    readonly parameters: TotpParameters;
  }): Promise<TotpProvisioning>;
  /**
   * Checks `code` against the steps within `window` of `now` (RFC 6238 §5.2) in constant time,
   * and returns the step it matched (the latest, should two match).
   */
  verify(input: {
    readonly secret: string;
    readonly code: string;
    readonly now: Date;
    readonly parameters: TotpParameters;
    readonly window?: number;
  }): TotpVerification;
}
