import type { AuthenticationEvent, WebAuthnEvent } from "./evidence.js";
import { toCanonicalTime } from "./time.js";
import type { Aal, EventSource, Method } from "./vocabulary.js";

/**
 * What one authentication event, or a primary factor paired with a second one, proves:
 * the AAL reached, phishing resistance, the method and source that proved it, when its first
 * step started (the reauthentication interval runs from it) and when the proving step happened
 * (the maximum age of the MFA event runs from it).
 */
export interface Assurance {
  readonly aal: Aal;
  readonly phishingResistant: boolean;
  /** The method that proves the assurance: the single event's, or the second factor's. */
  readonly provingMethod: Method;
  /** Where the proof came from. */
  readonly source: EventSource;
  /** The first factor, when the assurance is a pair; `undefined` for a single event. */
  readonly firstFactor: AuthenticationEvent | undefined;
  /** The event that proves the assurance: the single event, or the pair's second factor. */
  readonly proving: AuthenticationEvent;
  readonly startedAt: number;
  readonly provenAt: number;
  /** `provenAt` as the proving event wrote it, when that is already the canonical ISO form. */
  readonly provenAtText: string | undefined;
  /** The first factor's time as it wrote it, when that is already the canonical ISO form. */
  readonly firstFactorAtText: string | undefined;
  /** Some event of it is WebAuthn that did not verify the user. */
  readonly unverifiedWebAuthn: boolean;
}

/**
 * The events that make up an assurance, first factor first, as a decision's `satisfiedBy` lists
 * them. Built only for the assurance that satisfied a requirement, not for every candidate.
 */
export function assuranceEvents(assurance: Assurance): AuthenticationEvent[] {
  const { firstFactor, proving } = assurance;
  return firstFactor === undefined
    ? [inUtc(proving, assurance.provenAtText)]
    : [inUtc(firstFactor, assurance.firstFactorAtText), inUtc(proving, assurance.provenAtText)];
}

/**
 * The event as a decision reports it: with its time in UTC, as every time the API answers, when
 * the caller sent it with an offset (a usable event's time always reads). `canonicalAt` is its
 * time when reading the event found it canonical already: its shape is not checked again.
 */
function inUtc(event: AuthenticationEvent, canonicalAt: string | undefined): AuthenticationEvent {
  if (canonicalAt !== undefined) return event;
  const at = toCanonicalTime(event.at);
  return at === undefined ? event : { ...event, at };
}

/**
 * The assurance a single event proves on its own (NIST SP 800-63B-4 §2.1–2.3):
 * - a password, TOTP code or recovery code (look-up secret) is one factor: AAL1;
 * - WebAuthn is phishing-resistant; with user verification it is a multi-factor cryptographic
 *   authenticator (AAL2, or AAL3 when it is attested hardware and device-bound); without it,
 *   one factor (AAL1);
 * - a federated event proves what its verified claims were mapped to, and nothing more.
 */
export function assuranceOf(event: AuthenticationEvent): { aal: Aal; phishingResistant: boolean } {
  switch (event.method) {
    case "password":
    case "totp":
    case "recovery_code":
      return { aal: 1, phishingResistant: false };
    case "webauthn":
      return { aal: event.userVerified ? cryptographicAal(event) : 1, phishingResistant: true };
    case "federated":
      return { aal: event.assurance.aal, phishingResistant: event.assurance.phishingResistant };
  }
}

/**
 * What a WebAuthn credential's key proves beside another factor, or with user verification:
 * AAL3 only for hardware-based authenticators (SP 800-63B-4 §2.3.1), which the platform knows
 * from a verified attestation and a key that never leaves the device (BE=0); AAL2 otherwise.
 */
function cryptographicAal(event: WebAuthnEvent): Aal {
  return event.attested === true && !event.backupEligible ? 3 : 2;
}

/**
 * True for an event that can be the first factor of a pair: a password checked by the platform,
 * or a sign-in at the tenant's IdP that proved at least one factor (the platform then adds the
 * second factor, as for SSO users whose IdP did no MFA, or whose MFA there the tenant's policy
 * does not accept in place of the platform's). An IdP sign-in that proved MFA is no less a first
 * factor than one that did not: stronger proof never counts against a sign-in.
 */
export function isPrimaryFactor(event: AuthenticationEvent): boolean {
  return event.method === "password" || (event.method === "federated" && event.assurance.aal >= 1);
}

/**
 * The assurance of a first factor followed by a second one of a different kind, or `undefined`
 * when the pair is not multi-factor (NIST SP 800-63B-4 §2.2–2.3):
 * - password + look-up secret or single-factor OTP: AAL2;
 * - password + single-factor cryptographic authenticator: AAL2, AAL3 when it is attested
 *   hardware and device-bound (a synced credential never reaches AAL3, Appendix B), and
 *   phishing-resistant.
 * A WebAuthn step that verified the user is already multi-factor and is not paired.
 */
export function pairAssurance(
  second: AuthenticationEvent,
): { aal: Aal; phishingResistant: boolean } | undefined {
  switch (second.method) {
    case "totp":
    case "recovery_code":
      return { aal: 2, phishingResistant: false };
    case "webauthn":
      return second.userVerified
        ? undefined
        : { aal: cryptographicAal(second), phishingResistant: true };
    case "password":
    case "federated":
      return undefined;
  }
}
