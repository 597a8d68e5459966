/**
 * tenant-mfa: decides and enforces how each organisation on a multi-tenant platform proves
 * multi-factor authentication. The package root exports the pure policy engine and its types.
 *
 * @packageDocumentation
 */
import { evaluate as evaluateAt, type EvaluateOptions } from "./core/evaluate.js";
import type { Decision } from "./core/decision.js";
import type { EvaluationInput } from "./core/input.js";

export type { EvaluateOptions };

/**
 * Decides one sign-in (see the core's `evaluate`). The engine reads no clock: pass `now`; when
 * `options` is omitted, the library reads the current time here, outside the pure core.
 */
export function evaluate(input: EvaluationInput, options?: EvaluateOptions): Decision {
  return evaluateAt(input, options ?? { now: new Date() });
}
export type { EvaluationInput, IdpProfile } from "./core/input.js";
export type {
  ChallengeOption,
  Decision,
  ReportOnlyResult,
  SatisfiedBy,
  UsedExemption,
} from "./core/decision.js";
export type {
  Actor,
  AuthenticationEvent,
  EnrolledAuthenticator,
  Evidence,
  FederatedAssurance,
  FederatedEvent,
  PasswordEvent,
  RecoveryCodeEvent,
  TotpEvent,
  WebAuthnEvent,
} from "./core/evidence.js";
export type {
  Exemption,
  PlatformMandate,
  RequirementSpec,
  RiskRules,
  TenantPolicy,
} from "./core/policy.js";
export type { EffectiveRequirement, RequirementPart, RuleRef } from "./core/requirement.js";
export { REASONS, type Reason, type ReasonCode } from "./core/reasons.js";
export { POSTURE_REQUIREMENTS } from "./core/postures.js";
export {
  EXEMPTION_CATEGORIES,
  METHODS,
  OUTCOMES,
  POPULATIONS,
  POSTURES,
  PROOF_SOURCES,
  REFEDS_MFA,
  RISK_LEVELS,
  TOKEN_GRANTS,
  type Aal,
  type EventSource,
  type ExemptionCategory,
  type Method,
  type Mode,
  type Outcome,
  type Population,
  type Posture,
  type ProofSource,
  type RiskLevel,
  type TokenGrant,
} from "./core/vocabulary.js";
