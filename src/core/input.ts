import type { EnrolledAuthenticator, Evidence } from "./evidence.js";
import type {
  Exemption,
  PlatformMandate,
  RequirementSpec,
  RiskRules,
  TenantPolicy,
} from "./policy.js";
import { parseTime } from "./time.js";
import {
  METHODS,
  POPULATIONS,
  POSTURES,
  PROOF_SOURCES,
  RISK_LEVELS,
  isOneOf,
  type Population,
  type RiskLevel,
} from "./vocabulary.js";

/** The tenant's IdP as the engine needs it for step-up guidance: what to ask it for. */
export interface IdpProfile {
  readonly id: string;
  /** `acr` values / `AuthnContextClassRef` to request for MFA; REFEDS MFA when absent. */
  readonly mfaRequestValues?: readonly string[];
  /** Values to request when phishing resistance is required, if the IdP has such a class. */
  readonly phishingResistantRequestValues?: readonly string[];
}

/** Everything one decision depends on. The engine reads nothing else, not even the clock. */
export interface EvaluationInput {
  readonly tenant: string;
  readonly policy: TenantPolicy;
  /** Platform mandates; the engine applies those whose scope and window match. */
  readonly mandates?: readonly PlatformMandate[];
  readonly principal: {
    readonly id: string;
    readonly population: Population;
    /** The principal's enrolled authenticators, to offer the right challenge. */
    readonly authenticators?: readonly EnrolledAuthenticator[];
    /**
     * A login several people share (seed 001): no exemption excuses it, whatever its category.
     * Its people prove MFA each time, as individuals, through a privileged-access tool (`act`).
     */
    readonly sharedLogin?: boolean;
  };
  readonly evidence: Evidence;
  /** Exemptions for the principal; the engine re-checks tenant, principal, status and window. */
  readonly exemptions?: readonly Exemption[];
  /** Session risk from the platform's risk checks. */
  readonly risk?: RiskLevel;
  /** Assurance requested for a sensitive action (step-up). */
  readonly stepUp?: RequirementSpec;
  /** When the session was last active, for the idle timeout (ISO 8601). */
  readonly lastActivityAt?: string;
  /** The tenant's IdPs, for step-up guidance. Absent: a generic IdP step-up is offered. */
  readonly idps?: readonly IdpProfile[];
}

/** What is wrong with a value, or `undefined` when nothing is. */
export type Problem = string | undefined;

/** True for a plain object (not `null`, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
export const isNonEmptyString = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0;
export const isTime = (value: unknown): boolean => parseTime(value) !== undefined;
const isDuration = (value: unknown): boolean =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;

const AALS: readonly unknown[] = [0, 1, 2, 3];

// Written out field by field, without a list of keys built per call: step-up specs arrive with
// requests and are checked on every decision.
/** Checks a requirement spec found at `where`; returns what is wrong with it, or `undefined`. */
export function checkSpec(spec: unknown, where: string): Problem {
  if (!isRecord(spec)) return `${where} must be an object`;
  const s = spec as RequirementSpec;
  if (s.minAal !== undefined && !AALS.includes(s.minAal)) return `${where}.minAal must be 0–3`;
  if (!isOptionalBoolean(s.phishingResistant))
    return `${where}.phishingResistant must be a boolean`;
  if (!isOptionalBoolean(s.userVerification)) return `${where}.userVerification must be a boolean`;
  if (!isOptionalDuration(s.maxAgeSeconds)) return mustBeDuration(where, "maxAgeSeconds");
  if (!isOptionalDuration(s.reauthIntervalSeconds)) {
    return mustBeDuration(where, "reauthIntervalSeconds");
  }
  if (!isOptionalDuration(s.idleTimeoutSeconds)) return mustBeDuration(where, "idleTimeoutSeconds");
  if (
    s.acceptedMethods !== undefined &&
    !(Array.isArray(s.acceptedMethods) && s.acceptedMethods.every(isMethod))
  ) {
    return `${where}.acceptedMethods must list known methods`;
  }
  if (s.proofSource !== undefined && !isOneOf(PROOF_SOURCES, s.proofSource)) {
    return `${where}.proofSource is unknown`;
  }
  return undefined;
}

const isOptionalBoolean = (value: unknown): boolean =>
  value === undefined || typeof value === "boolean";
const isOptionalDuration = (value: unknown): boolean => value === undefined || isDuration(value);
const mustBeDuration = (where: string, key: string): string =>
  `${where}.${key} must be a non-negative number`;
const isMethod = (value: unknown): boolean => isOneOf(METHODS, value);

function checkRiskRules(rules: unknown, unknownRisk: unknown, where: string): Problem {
  if (unknownRisk !== undefined && unknownRisk !== "low" && unknownRisk !== "medium") {
    return `${where}.unknownRisk must be low or medium`;
  }
  if (rules === undefined) return undefined;
  if (!isRecord(rules)) return `${where}.riskRules must be an object`;
  for (const [level, spec] of Object.entries(rules as RiskRules)) {
    if (!isOneOf(RISK_LEVELS, level)) return `${where}.riskRules.${level} is not a risk level`;
    const problem = checkSpec(spec, `${where}.riskRules.${level}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Checks a tenant policy; returns what is wrong with it, or `undefined`. */
export function checkPolicy(policy: unknown): Problem {
  if (!isRecord(policy)) return "policy must be an object";
  const p = policy as unknown as TenantPolicy;
  if (!isNonEmptyString(p.tenant)) return "policy.tenant is required";
  if (!Number.isInteger(p.version)) return "policy.version must be an integer";
  if (!isOneOf(POSTURES, p.posture)) return "policy.posture is unknown";
  if (p.require !== undefined) {
    const problem = checkSpec(p.require, "policy.require");
    if (problem !== undefined) return problem;
  }
  if (p.enforcementStartsAt !== undefined && !isTime(p.enforcementStartsAt)) {
    return "policy.enforcementStartsAt must be an ISO 8601 time";
  }
  return checkRiskRules(p.riskRules, p.unknownRisk, "policy");
}

/** Checks a platform mandate; returns what is wrong with it, or `undefined`. */
export function checkMandate(mandate: unknown, index: number): Problem {
  const where = `mandates[${index}]`;
  if (!isRecord(mandate)) return `${where} must be an object`;
  const m = mandate as unknown as PlatformMandate;
  if (!isNonEmptyString(m.id)) return `${where}.id is required`;
  if (!Number.isInteger(m.version)) return `${where}.version must be an integer`;
  if (typeof m.exemptible !== "boolean") return `${where}.exemptible must be a boolean`;
  if (!isRecord(m.scope)) return `${where}.scope is required`;
  const tenants = m.scope.tenants;
  if (tenants !== "all" && !(Array.isArray(tenants) && tenants.every(isNonEmptyString))) {
    return `${where}.scope.tenants must be "all" or a list of tenant ids`;
  }
  const populations = m.scope.populations;
  if (
    populations !== undefined &&
    !(Array.isArray(populations) && populations.every((p) => isOneOf(POPULATIONS, p)))
  ) {
    return `${where}.scope.populations must list known populations`;
  }
  for (const key of ["activeFrom", "activeUntil"] as const) {
    if (m[key] !== undefined && !isTime(m[key])) return `${where}.${key} must be an ISO 8601 time`;
  }
  const problem = checkSpec(m.require, `${where}.require`);
  return problem ?? checkRiskRules(m.riskRules, m.unknownRisk, where);
}

/**
 * Checks the rules of a sign-in at `tenant`: the tenant policy, that it is this tenant's, and
 * every mandate. A mandate that cannot be read must stop the decision, never be skipped.
 * Returns what is wrong, or `undefined`.
 */
export function checkRules(tenant: string, policy: unknown, mandates: readonly unknown[]): Problem {
  const policyProblem = checkOnce(policy, checkPolicy, checkedPolicies);
  if (policyProblem !== undefined) return policyProblem;
  if ((policy as TenantPolicy).tenant !== tenant) return "the policy belongs to another tenant";
  for (let index = 0; index < mandates.length; index++) {
    const problem = checkOnce(mandates[index], (m) => checkMandate(m, index), checkedMandates);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Policies, and mandates, already found valid that can never change: deeply frozen objects, as
 * the service's rule cache hands out. Such an object is checked once, not on every decision. One
 * set per kind: an object found a valid policy has not been checked as a mandate (its scope,
 * its `exemptible`), nor a valid mandate as a policy.
 */
const checkedPolicies = new WeakSet<object>();
const checkedMandates = new WeakSet<object>();

/** True for a rule object already checked and deeply frozen: it can never change. */
export function isImmutableRule(value: object): boolean {
  return checkedPolicies.has(value) || checkedMandates.has(value);
}

function checkOnce(
  value: unknown,
  check: (value: unknown) => Problem,
  checked: WeakSet<object>,
): Problem {
  if (typeof value === "object" && value !== null && checked.has(value)) return undefined;
  const problem = check(value);
  if (problem === undefined && isDeeplyFrozen(value)) checked.add(value as object);
  return problem;
}

function isDeeplyFrozen(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeeplyFrozen);
}

/** Freezes a value and everything in it, so the engine may check it once and trust it after. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
