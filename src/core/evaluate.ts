import { challengeOptions } from "./challenge.js";
import type {
  ChallengeOption,
  Decision,
  ReportOnlyResult,
  SatisfiedBy,
  UsedExemption,
} from "./decision.js";
import type { AuthenticationEvent } from "./evidence.js";
import { checkInput, type EvaluationInput } from "./input.js";
import { mandateApplies } from "./mandates.js";
import { formatTime, parseTime } from "./time.js";
import { pickExemption } from "./exemptions.js";
import type { Exemption, PlatformMandate } from "./policy.js";
import { reason, type Reason } from "./reasons.js";
import { hasRiskSpecs, joinRequirementsOnce, mandateSpecs, tenantSpecs } from "./rule-specs.js";
import type { EffectiveRequirement, SourcedSpec } from "./requirement.js";
import type { Assurance } from "./assurance.js";
import { assurancesOf, findSatisfaction, type UsableEvent } from "./satisfaction.js";
import { TOKEN_GRANTS, isOneOf, type Outcome, type Population } from "./vocabulary.js";

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
    typeof options === "object" && options !== null ? options : {};
  const now = given.now instanceof Date ? given.now.getTime() : Number.NaN;
  const id = typeof given.id === "string" ? given.id : null;
  const skew = given.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const invalid = (detail: string) =>
    refusal(input, id, Number.isFinite(now) ? now : 0, reason("input.invalid", { detail }));
  if (!Number.isFinite(now)) return invalid("options.now must be a valid Date");
  if (typeof skew !== "number" || !Number.isFinite(skew) || skew < 0) {
    return invalid("options.clockSkewSeconds must be a non-negative number");
  }
  try {
    return decide(input, skew * 1000, now, id);
  } catch {
    return refusal(input, id, now, reason("engine.error"));
  }
}

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

/** The part of a decision that depends on which rules are enforced. */
interface Verdict {
  readonly outcome: Outcome;
  readonly requirement: EffectiveRequirement;
  readonly satisfiedBy: SatisfiedBy | null;
  readonly exemption: UsedExemption | null;
  readonly reasons: readonly Reason[];
  readonly challenge: readonly ChallengeOption[];
}

/** What every verdict of one decision shares. */
interface Context {
  readonly input: EvaluationInput;
  readonly now: number;
  readonly events: readonly UsableEvent[];
  /** Every assurance the evidence offers, computed once for all verdicts of the decision. */
  readonly assurances: readonly Assurance[];
  readonly population: Population;
  readonly lastActivityAt: number | undefined;
}

function decide(input: EvaluationInput, skew: number, now: number, id: string | null): Decision {
  const problem = checkInput(input);
  if (problem.input !== undefined)
    return refusal(input, id, now, reason("input.invalid", { detail: problem.input }));
  if (problem.policy !== undefined)
    return refusal(input, id, now, reason("policy.invalid", { detail: problem.policy }));

  const { tenant, policy, principal, evidence } = input;
  const evaluatedAt = formatTime(now);
  const risk = input.risk ?? "unknown";
  const notes: Reason[] = [];

  // Populations outside interactive MFA are decided before any rule is read.
  const outOfScope = (outcome: Outcome, why: Reason): Decision =>
    withActor(
      {
        id,
        tenant,
        principal: { id: principal.id, population: principal.population },
        outcome,
        mode: "enforce",
        requirement: null,
        satisfiedBy: null,
        exemption: null,
        reasons: [why],
        challenge: [],
        versions: { tenantPolicy: policy.version, mandates: [] },
        risk,
        evaluatedAt,
      },
      evidence,
    );
  if (principal.population === "guest") {
    return outOfScope("not_applicable", reason("population.guest"));
  }

  let population: Population = principal.population;
  if (population === "integration") {
    const tokenOnly =
      isOneOf(TOKEN_GRANTS, evidence.grant) &&
      !evidence.events.some((e) => e.method === "password");
    if (tokenOnly) return outOfScope("allow", reason("population.integration_token"));
    // Seed 000: an integration that signs in with a password is a person for MFA purposes.
    population = "direct";
    notes.push(reason("population.integration_interactive"));
  }

  const events = usableEvents(evidence.events, tenant, now + skew, notes);
  const populations: Population[] =
    population === principal.population ? [population] : [principal.population, population];
  const mandates = (input.mandates ?? []).filter((m) =>
    mandateApplies(m, tenant, populations, now),
  );
  const rules = ruleSets(input, mandates);
  const context: Context = {
    input,
    now,
    events,
    assurances: assurancesOf(events),
    population,
    lastActivityAt:
      input.lastActivityAt === undefined ? undefined : parseTime(input.lastActivityAt),
  };

  const chosen = pickExemption(input.exemptions ?? [], tenant, principal.id, now);
  if (chosen.sharedLoginRefused) notes.push(reason("exemption.shared_login_refused"));

  const full = verdictWithExemption(
    context,
    [...rules.mandates, ...rules.tenant, ...rules.stepUp],
    rules,
    chosen.usable,
  );
  const startsAt = parseTime(policy.enforcementStartsAt) ?? Number.NaN;
  const reportOnly = now < startsAt;
  // Before enforcement starts only the tenant's own requirement relaxes: mandates still bind.
  const enforced = reportOnly
    ? verdictWithExemption(context, [...rules.mandates, ...rules.stepUp], rules, chosen.usable)
    : full;

  const reasons = [...notes, ...enforced.reasons];
  if (rules.riskApplied) reasons.push(reason("risk.elevated"));
  if (input.stepUp !== undefined)
    reasons.push(reason("step_up.requested", undefined, { kind: "step_up" }));
  if (!reportOnly && policy.posture === "mfa_optional" && full.requirement.minAal.value >= 2) {
    const mandateRef = full.requirement.minAal.from.find((r) => r.kind === "mandate");
    if (mandateRef !== undefined)
      reasons.push(reason("policy.overridden_by_mandate", undefined, mandateRef));
  }
  let reportOnlyResult: ReportOnlyResult | undefined;
  if (reportOnly) {
    const enforcementStartsAt = formatTime(startsAt);
    reasons.push(reason("policy.report_only", { date: enforcementStartsAt.slice(0, 10) }));
    reportOnlyResult = {
      enforcementStartsAt,
      outcome: full.outcome,
      requirement: full.requirement,
      reasons: full.reasons,
      challenge: full.challenge,
    };
  }

  const decision: Mutable<Decision> = {
    id,
    tenant,
    principal:
      population === principal.population
        ? { id: principal.id, population }
        : { id: principal.id, population: principal.population, treatedAs: population },
    outcome: enforced.outcome,
    mode: reportOnly ? "report_only" : "enforce",
    requirement: enforced.requirement,
    satisfiedBy: enforced.satisfiedBy,
    exemption: enforced.exemption,
    reasons,
    challenge: enforced.challenge,
    versions: {
      tenantPolicy: policy.version,
      mandates: mandates.map((m) => ({ id: m.id, version: m.version })),
    },
    risk,
    evaluatedAt,
  };
  if (reportOnlyResult !== undefined) decision.reportOnly = reportOnlyResult;
  return withActor(decision, evidence);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Keeps the acting individual (RFC 8693 `act`) on the decision, when the evidence names one. */
function withActor(decision: Mutable<Decision>, evidence: EvaluationInput["evidence"]): Decision {
  if (evidence.act !== undefined) decision.act = evidence.act;
  return decision;
}

/** The evidence events the engine will count; each rejected one leaves a note. */
function usableEvents(
  events: readonly AuthenticationEvent[],
  tenant: string,
  latest: number,
  notes: Reason[],
): UsableEvent[] {
  const usable: UsableEvent[] = [];
  for (const event of events) {
    const at = typeof event === "object" && event !== null ? parseTime(event.at) : undefined;
    if (at === undefined || !isWellFormed(event)) {
      notes.push(reason("evidence.ignored.invalid"));
    } else if (at > latest) {
      notes.push(reason("evidence.ignored.from_future"));
    } else if (event.method === "federated" && event.tenant !== tenant) {
      notes.push(reason("evidence.ignored.foreign_tenant"));
    } else if (event.method === "federated" && event.assurance.aal === 0) {
      notes.push(reason("evidence.ignored.no_assurance"));
    } else {
      usable.push({ event, at });
    }
  }
  return usable;
}

function isWellFormed(event: AuthenticationEvent): boolean {
  switch (event.method) {
    case "password":
    case "totp":
    case "recovery_code":
      return event.source === "platform";
    case "webauthn":
      return (
        event.source === "platform" &&
        typeof event.userVerified === "boolean" &&
        typeof event.backupEligible === "boolean"
      );
    case "federated": {
      const assurance = event.assurance as unknown;
      if (
        event.source !== "idp" ||
        typeof event.tenant !== "string" ||
        typeof event.idp !== "string"
      ) {
        return false;
      }
      if (typeof assurance !== "object" || assurance === null) return false;
      const { aal, phishingResistant } = assurance as Record<string, unknown>;
      return (
        (aal === 0 || aal === 1 || aal === 2 || aal === 3) && typeof phishingResistant === "boolean"
      );
    }
    default:
      return false;
  }
}

/** The rules of one decision, grouped by who set them. */
interface RuleSets {
  readonly mandates: readonly SourcedSpec[];
  /** The subset an exemption cannot excuse. */
  readonly notExemptible: readonly SourcedSpec[];
  readonly tenant: readonly SourcedSpec[];
  readonly stepUp: readonly SourcedSpec[];
  readonly riskApplied: boolean;
}

function ruleSets(input: EvaluationInput, mandates: readonly PlatformMandate[]): RuleSets {
  const mandateSpecList: SourcedSpec[] = [];
  const notExemptible: SourcedSpec[] = [];
  for (const m of mandates) {
    const specs = mandateSpecs(m, input.risk);
    for (const spec of specs) mandateSpecList.push(spec);
    if (!m.exemptible) for (const spec of specs) notExemptible.push(spec);
  }
  const tenant = tenantSpecs(input.policy, input.risk);
  const stepUp: SourcedSpec[] =
    input.stepUp === undefined ? [] : [{ spec: input.stepUp, from: { kind: "step_up" } }];
  return {
    mandates: mandateSpecList,
    notExemptible,
    tenant,
    stepUp,
    riskApplied: hasRiskSpecs(mandateSpecList) || hasRiskSpecs(tenant),
  };
}

/**
 * The verdict under `specs`; when that is not `allow` and a usable exemption exists, the verdict
 * under what no exemption excuses: non-exemptible mandates and the requested step-up.
 */
function verdictWithExemption(
  context: Context,
  specs: readonly SourcedSpec[],
  rules: RuleSets,
  exemption: Exemption | undefined,
): Verdict {
  const plain = verdict(context, specs);
  if (plain.outcome === "allow" || exemption === undefined) return plain;
  const residual = verdict(context, [...rules.notExemptible, ...rules.stepUp]);
  if (residual.outcome !== "allow") {
    if (rules.notExemptible.length === 0) return residual;
    const ref = rules.notExemptible[0]?.from;
    return {
      ...residual,
      reasons: [reason("exemption.not_exemptible", undefined, ref), ...residual.reasons],
    };
  }
  const breakGlass = exemption.category === "break_glass";
  const expiresAt = formatTime(parseTime(exemption.expiresAt) ?? Number.NaN);
  return {
    ...residual,
    exemption: {
      id: exemption.id,
      category: exemption.category,
      expiresAt,
      breakGlass,
      excused: plain.requirement,
    },
    // The residual requirement was met, not the tenant's: say so through the exemption alone.
    reasons: [
      reason(breakGlass ? "exemption.break_glass" : "exemption.applied", { date: expiresAt }),
    ],
  };
}

/** The verdict of the evidence against the join of `specs`. */
function verdict(context: Context, specs: readonly SourcedSpec[]): Verdict {
  const requirement = joinRequirementsOnce(specs);
  const unmet = (
    outcome: Outcome,
    reasons: readonly Reason[],
    challenge: readonly ChallengeOption[],
  ): Verdict => ({
    outcome,
    requirement,
    satisfiedBy: null,
    exemption: null,
    reasons,
    challenge,
  });
  if (!isSatisfiable(requirement)) {
    return unmet(
      "deny",
      [
        reason(
          "requirement.conflict",
          undefined,
          requirement.proofSource.from[0] ?? requirement.acceptedMethods.from[0],
        ),
      ],
      [],
    );
  }
  const satisfaction = findSatisfaction(
    context.assurances,
    requirement,
    context.now,
    context.lastActivityAt,
  );
  if (satisfaction.met) {
    const { by } = satisfaction;
    return {
      outcome: "allow",
      requirement,
      satisfiedBy: {
        events: by.events,
        aal: by.aal,
        phishingResistant: by.phishingResistant,
        provenAt: formatTime(by.provenAt),
      },
      exemption: null,
      reasons: [reason("requirement.met")],
      challenge: [],
    };
  }
  const challenge = challengeOptions({
    requirement,
    events: context.events,
    authenticators: context.input.principal.authenticators ?? [],
    idps: context.input.idps,
    population: context.population,
    staleOnly: satisfaction.staleOnly,
    now: context.now,
  });
  if (challenge.length === 0)
    return unmet("deny", [...satisfaction.reasons, reason("challenge.unavailable")], []);
  return unmet("challenge", satisfaction.reasons, challenge);
}

/**
 * Whether any evidence could ever meet the requirement with the accepted methods and sources.
 * An IdP can in principle prove anything; WebAuthn reaches AAL3 and phishing resistance; OTP and
 * recovery codes reach AAL2 without it; a password alone only AAL1.
 */
function isSatisfiable(requirement: EffectiveRequirement): boolean {
  const source = requirement.proofSource.value;
  if (source === null) return false;
  const onPlatform = source !== "idp";
  const atIdp = source !== "platform";
  const { minAal, phishingResistant } = requirement;
  return requirement.acceptedMethods.value.some((method) => {
    switch (method) {
      case "federated":
        return atIdp;
      case "webauthn":
        return onPlatform;
      case "totp":
      case "recovery_code":
        return onPlatform && !phishingResistant.value && minAal.value <= 2;
      case "password":
        return onPlatform && !phishingResistant.value && minAal.value <= 1;
    }
  });
}
