import type { RuleRef } from "./requirement.js";

/**
 * Every reason a decision can give, in one place: a stable dotted code and a message a user or
 * administrator can act on. Codes never change meaning; new ones may be added.
 */
export const REASONS = {
  "requirement.met": "Your sign-in meets your organisation's MFA requirement.",
  "requirement.unmet.aal":
    "This sign-in needs a stronger proof of identity: a second factor is required.",
  "requirement.unmet.aal3":
    "This sign-in needs a hardware security key, of a make the platform recognises, that verifies you.",
  "requirement.unmet.phishing_resistance":
    "This sign-in needs a phishing-resistant method, such as a passkey or security key.",
  "requirement.unmet.user_verification":
    "Your security key or passkey must verify you with a PIN or biometric.",
  "requirement.unmet.method": "The method you used is not one your organisation accepts.",
  "requirement.unmet.proof_source":
    "Your organisation requires MFA proven elsewhere: at its identity provider or on this platform.",
  "requirement.conflict":
    "The platform's mandates and your organisation's policy cannot both be met. Ask your administrator to align the policy.",
  "freshness.max_age_exceeded": "Your last MFA is too old for this. Please verify again.",
  "session.reauth_interval_exceeded":
    "Your sign-in has lasted longer than allowed. Please sign in again.",
  "session.idle_timeout_exceeded": "Your session was idle for too long. Please verify again.",
  "evidence.none": "No authentication was recorded for this sign-in.",
  "evidence.ignored.invalid": "An authentication step was malformed and was not counted.",
  "evidence.ignored.from_future":
    "An authentication step is dated in the future and was not counted.",
  "evidence.ignored.foreign_tenant":
    "Proof from another organisation's identity provider does not count here.",
  "evidence.ignored.no_assurance":
    "Your identity provider did not state how you signed in, so it proves no MFA.",
  "population.guest": "MFA policy does not apply to guest access.",
  "population.integration_token": "Token-based integrations authenticate without interactive MFA.",
  "population.integration_interactive":
    "An integration signing in interactively or with a password is treated as a person and must use MFA. Move it to a token-based grant.",
  "policy.report_only":
    "Your organisation will require MFA from {date}. Set it up now to avoid interruption.",
  "policy.overridden_by_mandate":
    "A platform-wide security requirement applies in addition to your organisation's policy.",
  "risk.elevated": "Extra verification is needed because this sign-in looks unusual.",
  "step_up.requested": "This action needs a stronger or more recent verification.",
  "exemption.applied": "An approved exemption applies until {date}.",
  "exemption.break_glass": "Break-glass access is in use until {date}; this sign-in is recorded.",
  "exemption.not_exemptible":
    "Your exemption does not cover a platform requirement that cannot be exempted.",
  "exemption.shared_login_refused":
    "Shared logins can never be exempted from MFA; each person needs their own account.",
  "challenge.unavailable":
    "There is no way to meet the requirement with what your organisation offers. Contact your administrator.",
  "input.invalid": "The request could not be evaluated: {detail}.",
  "policy.invalid": "The MFA policy could not be read: {detail}.",
  "engine.error": "The decision could not be computed, so access is not granted.",
} as const satisfies Record<string, string>;

/** A stable, documented reason code. */
export type ReasonCode = keyof typeof REASONS;

/** One reason of a decision: stable code, human message, and the rule that caused it if any. */
export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
  readonly rule?: RuleRef;
}

const PLAIN = new Map<ReasonCode, Reason>();

/** Builds a reason, filling `{name}` placeholders of its message from `params`. */
export function reason(
  code: ReasonCode,
  params?: Readonly<Record<string, string>>,
  rule?: RuleRef,
): Reason {
  if (params === undefined && rule === undefined) {
    // Reasons without parameters or rule are the same every time: share one frozen value.
    let plain = PLAIN.get(code);
    if (plain === undefined) {
      plain = Object.freeze({ code, message: REASONS[code] });
      PLAIN.set(code, plain);
    }
    return plain;
  }
  let message: string = REASONS[code];
  if (params !== undefined) {
    for (const [name, value] of Object.entries(params))
      message = message.replace(`{${name}}`, value);
  }
  // Frozen, as every part of a decision that later decisions may share: prepared requirements
  // keep their reasons for every decision under them, and a caller that edits one decision in
  // place must not edit the next.
  return Object.freeze(rule === undefined ? { code, message } : { code, message, rule });
}
