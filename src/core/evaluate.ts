import type { Decision, ReportOnlyResult } from "./decision.js";
import type { EvaluationInput } from "./input.js";
import { pickExemption } from "./exemptions.js";
import {
  interactivePopulation,
  populationBit,
  prepareRules,
  type PreparedRules,
} from "./prepared-rules.js";
import { reason, type Reason } from "./reasons.js";
import { readRequest, type Request } from "./request.js";
import type { EffectiveRequirement } from "./requirement.js";
import { addPairs } from "./satisfaction.js";
import { formatTime } from "./time.js";
import { usableEvents } from "./usable-events.js";
import { NO_CHALLENGE, verdictWithExemption, type SignIn } from "./verdict.js";
import { isTokenGrant, type Outcome, type Population } from "./vocabulary.js";

const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** The instant of the decision. The engine never reads the clock itself. */
  readonly now: Date;
  /** The id to give the decision (its receipt id). */
  readonly id?: string;
  /**
   * How far in the future an event's time may lie (IdP clocks drift), in seconds. Default 60.
   * Later events are ignored.
   */
  readonly clockSkewSeconds?: number;
}

/**
 * Decides one sign-in: whether the evidence satisfies the join of the applicable platform
 * mandates, the tenant policy, risk rules and any requested step-up, or which exemption excuses
 * it, or what challenge would satisfy it.
 *
 * Pure and deterministic: the same input and options give the same decision. It never throws:
 * malformed input, an unreadable policy or mandate, or an internal error yield `deny` (fail
 * closed), never `allow`.
 *
 * @example
 * ```ts
 * const decision = evaluate(input, { now: new Date() });
 * if (decision.outcome === "challenge") redirectTo(decision.challenge[0]);
 * ```
 */
export function evaluate(input: EvaluationInput, options: EvaluateOptions): Decision {
  const given: Partial<EvaluateOptions> =
    typeof options === "object" && options !== null ? options : NO_OPTIONS;
  const now = given.now instanceof Date ? given.now.getTime() : Number.NaN;
  const id = typeof given.id === "string" ? given.id : null;
  const skew = given.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (!Number.isFinite(now)) {
    return refusal(input, id, 0, invalidInput("options.now must be a valid Date"));
  }
  if (typeof skew !== "number" || !Number.isFinite(skew) || skew < 0) {
    return refusal(
      input,
      id,
      now,
      invalidInput("options.clockSkewSeconds must be a non-negative number"),
    );
  }
  try {
    return decide(input, skew * 1000, now, id);
  } catch {
    return refusal(input, id, now, reason("engine.error"));
  }
}

const NO_OPTIONS: Partial<EvaluateOptions> = Object.freeze({});
const invalidInput = (detail: string): Reason => reason("input.invalid", { detail });

/** A `deny` for input that cannot be evaluated. */
function refusal(input: EvaluationInput, id: string | null, now: number, why: Reason): Decision {
  const i = (typeof input === "object" && input !== null ? input : {}) as Partial<EvaluationInput>;
  const principal =
    typeof i.principal === "object" && i.principal !== null ? i.principal : undefined;
  return {
    id,
    tenant: typeof i.tenant === "string" ? i.tenant : "",
    principal: {
      id: typeof principal?.id === "string" ? principal.id : "",
      population: principal?.population ?? "direct",
    },
    outcome: "deny",
    mode: "enforce",
    requirement: null,
    satisfiedBy: null,
    exemption: null,
    reasons: [why],
    challenge: [],
    versions: { tenantPolicy: null, mandates: [] },
    risk: "unknown",
    evaluatedAt: formatTime(now),
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// Reasons that are the same for every decision that gives them: shared, frozen lists.
const GUEST: readonly Reason[] = Object.freeze([reason("population.guest")]);
const INTEGRATION_TOKEN: readonly Reason[] = Object.freeze([
  reason("population.integration_token"),
]);
const STEP_UP_REQUESTED = Object.freeze(
  reason("step_up.requested", undefined, Object.freeze({ kind: "step_up" })),
);
const INTEGRATION_INTERACTIVE = reason("population.integration_interactive");
const SHARED_LOGIN_REFUSED = reason("exemption.shared_login_refused");
const RISK_ELEVATED = reason("risk.elevated");

function decide(input: EvaluationInput, skew: number, now: number, id: string | null): Decision {
  const request = readRequest(input);
  if (typeof request === "string") return refusal(input, id, now, invalidInput(request));
  const { tenant, principalId, events: given } = request;
  const rules = prepareRules(tenant, request.policy, request.mandates);
  if (typeof rules === "string") {
    return refusal(input, id, now, reason("policy.invalid", { detail: rules }));
  }

  const evaluatedAt = formatTime(now);
  // `new Array()`, not `[]`: V8 makes it with room for four elements, where `[]` has none and
  // its first push goes through the array-growing builtin (about 180 instructions).
  const notes = new Array<Reason>();

  // Populations outside interactive MFA are decided before any rule is read.
  if (request.population === "guest") {
    return outOfScope(request, rules, id, "not_applicable", GUEST, evaluatedAt);
  }
  let population: Population = request.population;
  if (population === "integration") {
    if (signsInWithToken(request)) {
      return outOfScope(request, rules, id, "allow", INTEGRATION_TOKEN, evaluatedAt);
    }
    // Seed 000: an integration that signs in with a password is a person for MFA purposes.
    population = interactivePopulation(population);
    notes.push(INTEGRATION_INTERACTIVE);
  }

  const assurances = usableEvents(given, tenant, now + skew, notes);
  addPairs(assurances);
  const join = rules.join(
    populationBit(request.population) | populationBit(population),
    now,
    request.risk,
  );
  const stepUp = request.stepUp;
  const requirements = join.requirements(stepUp);
  const signIn: SignIn = {
    now,
    assurances,
    lastActivityAt: request.lastActivityAt,
    population,
    authenticators: request.authenticators,
    idps: request.idps,
  };

  const exemptions = request.exemptions;
  const chosen =
    exemptions === undefined || exemptions.length === 0
      ? NO_EXEMPTION
      : pickExemption(exemptions, tenant, principalId, now, request.sharedLogin);
  if (chosen.sharedLoginRefused) notes.push(SHARED_LOGIN_REFUSED);

  const full = verdictWithExemption(signIn, requirements.full(), requirements, chosen.usable);
  const reportOnly = now < rules.enforcementStartsAt ? rules.reportOnly : undefined;
  // Before enforcement starts only the tenant's own requirement relaxes: mandates still bind.
  const enforced =
    reportOnly === undefined
      ? full
      : verdictWithExemption(signIn, requirements.beforeEnforcement(), requirements, chosen.usable);

  const mandateOverride =
    reportOnly === undefined && rules.posture === "mfa_optional"
      ? overriddenByMandate(full.requirement)
      : undefined;
  let reasons = enforced.reasons;
  if (
    notes.length > 0 ||
    join.riskApplied ||
    stepUp !== undefined ||
    mandateOverride !== undefined ||
    reportOnly !== undefined
  ) {
    // The notes come first; the list is this decision's own, so the rest joins it.
    const all = notes;
    const own = enforced.reasons;
    for (let i = 0; i < own.length; i++) all.push(own[i] as Reason);
    if (join.riskApplied) all.push(RISK_ELEVATED);
    if (stepUp !== undefined) all.push(STEP_UP_REQUESTED);
    if (mandateOverride !== undefined) all.push(mandateOverride);
    if (reportOnly !== undefined) all.push(reportOnly.reason);
    reasons = all;
  }

  const decision: Mutable<Decision> = {
    id,
    tenant,
    principal:
      population === request.population
        ? { id: principalId, population }
        : { id: principalId, population: request.population, treatedAs: population },
    outcome: enforced.outcome,
    mode: reportOnly === undefined ? "enforce" : "report_only",
    requirement: enforced.requirement,
    satisfiedBy: enforced.satisfiedBy,
    exemption: enforced.exemption,
    reasons,
    challenge: enforced.challenge,
    versions: join.versions,
    risk: request.risk ?? "unknown",
    evaluatedAt,
  };
  if (reportOnly !== undefined) {
    const result: ReportOnlyResult = {
      enforcementStartsAt: reportOnly.startsAt,
      outcome: full.outcome,
      requirement: full.requirement,
      reasons: full.reasons,
      challenge: full.challenge,
    };
    decision.reportOnly = result;
  }
  return withActor(decision, request);
}

/** Says so when a mandate raised an `mfa_optional` tenant's requirement to MFA. */
function overriddenByMandate(requirement: EffectiveRequirement): Reason | undefined {
  if (requirement.minAal.value < 2) return undefined;
  const mandateRef = requirement.minAal.from.find((r) => r.kind === "mandate");
  return mandateRef === undefined
    ? undefined
    : reason("policy.overridden_by_mandate", undefined, mandateRef);
}

const NO_EXEMPTION = Object.freeze({ usable: undefined, sharedLoginRefused: false });

/** An integration that authenticates with a token-based grant and no password. */
function signsInWithToken(request: Request): boolean {
  return isTokenGrant(request.grant) && !request.events.some((e) => e.method === "password");
}

/** The decision for a principal outside interactive MFA: a guest or a token integration. */
function outOfScope(
  request: Request,
  rules: PreparedRules,
  id: string | null,
  outcome: Outcome,
  reasons: readonly Reason[],
  evaluatedAt: string,
): Decision {
  return withActor(
    {
      id,
      tenant: request.tenant,
      principal: { id: request.principalId, population: request.population },
      outcome,
      mode: "enforce",
      requirement: null,
      satisfiedBy: null,
      exemption: null,
      reasons,
      challenge: NO_CHALLENGE,
      versions: rules.outOfScopeVersions,
      risk: request.risk ?? "unknown",
      evaluatedAt,
    },
    request,
  );
}

/** Keeps the acting individual (RFC 8693 `act`) on the decision, when the evidence names one. */
function withActor(decision: Mutable<Decision>, request: Request): Decision {
  if (request.act !== undefined) decision.act = request.act;
  return decision;
}
