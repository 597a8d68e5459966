import type { Decision } from "./decision.js";
import { checkRules, isImmutableRule } from "./input.js";
import type { PlatformMandate, TenantPolicy } from "./policy.js";
import { reason, type Reason } from "./reasons.js";
import { RuleJoin } from "./rule-join.js";
import { formatTime, parseTime } from "./time.js";
import type { Population, Posture, RiskLevel } from "./vocabulary.js";

/**
 * A tenant policy and the platform mandates of a sign-in, prepared for the decisions that read
 * them: each mandate's scope and window as bits and numbers, the policy's enforcement start,
 * and the requirement joins, built the first time a combination of applicable mandates and
 * risk level is met. When every rule is immutable (checked and deeply frozen, as the service's
 * rule cache hands them out) the preparation is kept and shared by every later decision over the
 * same rules; a decision over mutable rules prepares them afresh, and its preparation dies with
 * it, so a caller that changes a rule later never meets a stale one.
 */
export class PreparedRules {
  readonly policy: TenantPolicy;
  /** The tenant the policy belongs to; an input naming another is refused. */
  readonly tenant: string;
  /** The policy's posture, read once: policies come in many shapes, so reading them is slow. */
  readonly posture: Posture;
  readonly mandates: readonly PlatformMandate[];
  /** `NaN` when enforcement is not deferred. */
  readonly enforcementStartsAt: number;
  /** While enforcement is deferred: its start in ISO form and the reason that tells the user. */
  readonly reportOnly: { readonly startsAt: string; readonly reason: Reason } | undefined;
  /** The versions a decision names when policy does not apply to the principal at all. */
  readonly outOfScopeVersions: Decision["versions"];

  /**
   * The mandates again, in a list of our own that is not frozen, for {@link sameMandates}: V8's
   * optimising compiler reads the elements of a frozen array through a generic lookup, which
   * made finding kept rules by their mandates cost about 200 instructions a decision.
   */
  readonly #mandateList: readonly PlatformMandate[];
  /** The mandates whose tenant scope names this tenant; no other can ever apply to it. */
  readonly #candidates: readonly MandateScope[];
  /** Joins by applicable-mandate bits and risk; `undefined` for rules that may change. */
  readonly #joins: Map<number, RuleJoin> | undefined;

  constructor(policy: TenantPolicy, mandates: readonly PlatformMandate[], immutable: boolean) {
    this.policy = policy;
    this.tenant = policy.tenant;
    this.posture = policy.posture;
    this.mandates = immutable ? Object.freeze([...mandates]) : mandates;
    this.#mandateList = [...mandates];
    this.enforcementStartsAt = parseTime(policy.enforcementStartsAt) ?? Number.NaN;
    if (Number.isNaN(this.enforcementStartsAt)) {
      this.reportOnly = undefined;
    } else {
      const startsAt = formatTime(this.enforcementStartsAt);
      this.reportOnly = {
        startsAt,
        reason: Object.freeze(reason("policy.report_only", { date: startsAt.slice(0, 10) })),
      };
    }
    this.outOfScopeVersions = Object.freeze({
      tenantPolicy: policy.version,
      mandates: Object.freeze([]),
    });
    const candidates: MandateScope[] = [];
    this.mandates.forEach((mandate, index) => {
      const { tenants, populations } = mandate.scope;
      if (tenants !== "all" && !tenants.includes(this.tenant)) return;
      candidates.push({
        mandate,
        bit: index < MAX_MASKED_MANDATES ? 1 << index : 0,
        populations: populations === undefined ? ALL_POPULATIONS : populationBits(populations),
        // Both bounds were checked as ISO 8601 times by checkMandate.
        activeFrom: parseTime(mandate.activeFrom) ?? -Infinity,
        activeUntil: parseTime(mandate.activeUntil) ?? Infinity,
      });
    });
    this.#candidates = candidates;
    this.#joins = immutable && this.mandates.length <= MAX_MASKED_MANDATES ? new Map() : undefined;
  }

  /**
   * The rules that bind a sign-in: the mandates whose tenant scope, population scope (any of
   * `populations`, as {@link populationBit}s) and active window (`activeFrom ≤ now <
   * activeUntil`) match, joined with the tenant policy at the sign-in's risk.
   */
  join(populations: number, now: number, risk: RiskLevel | undefined): RuleJoin {
    const joins = this.#joins;
    if (joins === undefined) {
      const applicable = this.#candidates.filter((c) => applies(c, populations, now));
      return new RuleJoin(
        this.policy,
        applicable.map((c) => c.mandate),
        risk,
      );
    }
    let applicable = 0;
    const candidates = this.#candidates;
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i] as MandateScope;
      if (applies(candidate, populations, now)) applicable |= candidate.bit;
    }
    const key = applicable * 4 + riskKey(risk);
    let join = joins.get(key);
    if (join === undefined) {
      const mandates = this.#candidates.filter((c) => (applicable & c.bit) !== 0);
      join = new RuleJoin(
        this.policy,
        mandates.map((c) => c.mandate),
        risk,
      );
      joins.set(key, join);
    }
    return join;
  }

  /** Whether `mandates` lists the same mandates as these rules, in the same order. */
  sameMandates(mandates: readonly unknown[]): boolean {
    const own = this.#mandateList;
    if (own.length !== mandates.length) return false;
    for (let i = 0; i < own.length; i++) if (own[i] !== mandates[i]) return false;
    return true;
  }

  /**
   * The ids of the mandates whose requirement no exemption lifts from a sign-in of a principal
   * of `population` at `now`: those that bind it, as {@link join} finds them, and are not
   * exemptible. `evaluate` holds an exempted sign-in to exactly these (and to any
   * requested step-up). An integration is held to them as on an interactive sign-in, the only
   * kind an exemption can matter to (a token grant is outside MFA); a guest to none.
   */
  notExemptibleMandates(population: Population, now: number): readonly string[] {
    if (population === "guest") return [];
    const bits = populationBit(population) | populationBit(interactivePopulation(population));
    return this.join(bits, now, undefined).notExemptibleMandates;
  }
}

/**
 * The population whose rules an interactive sign-in of `population` is held to: seed 000, an
 * integration that signs in with a password is a person for MFA purposes (`direct`).
 */
export function interactivePopulation(population: Population): Population {
  return population === "integration" ? "direct" : population;
}

/** A mandate in this tenant's scope: its bit among the mandates, populations and window. */
interface MandateScope {
  readonly mandate: PlatformMandate;
  /** Its bit in a join's key; only used with at most {@link MAX_MASKED_MANDATES} mandates. */
  readonly bit: number;
  readonly populations: number;
  readonly activeFrom: number;
  readonly activeUntil: number;
}

const applies = (scope: MandateScope, populations: number, now: number): boolean =>
  (scope.populations & populations) !== 0 && now >= scope.activeFrom && now < scope.activeUntil;

/** Beyond this many mandates the applicable ones no longer fit the bits of a join's key. */
const MAX_MASKED_MANDATES = 24;

const riskKey = (risk: RiskLevel | undefined): number =>
  risk === undefined ? 0 : risk === "low" ? 1 : risk === "medium" ? 2 : 3;

/** One bit per population, so that scopes and principals compare with one `&`. */
export function populationBit(population: Population): number {
  switch (population) {
    case "direct":
      return 1;
    case "sso":
      return 2;
    case "integration":
      return 4;
    case "api_human":
      return 8;
    case "guest":
      return 16;
  }
}

const ALL_POPULATIONS = 31;

function populationBits(populations: readonly Population[]): number {
  let bits = 0;
  for (const population of populations) bits |= populationBit(population);
  return bits;
}

/**
 * Prepared rules of immutable policies: for each policy, the combinations of mandates met with
 * it, most recent last. Weak in the policy, so that rules the service's cache has dropped are
 * freed; a policy keeps its {@link MAX_COMBINATIONS} most recent combinations, so that mandates
 * replaced since are let go as well. The caller's list of mandates is never a key (it is
 * mutable and made afresh per request): its entries are compared by identity, one by one.
 */
const preparedByPolicy = new WeakMap<object, PreparedRules[]>();

/** A tenant's sign-ins meet one or two sets of applicable mandates, rarely more. */
const MAX_COMBINATIONS = 8;

function lookup(policy: unknown, mandates: readonly unknown[]): PreparedRules | undefined {
  if (typeof policy !== "object" || policy === null) return undefined;
  const known = preparedByPolicy.get(policy);
  if (known === undefined) return undefined;
  for (let k = known.length - 1; k >= 0; k--) {
    const rules = known[k] as PreparedRules;
    if (rules.sameMandates(mandates)) return rules;
  }
  return undefined;
}

function remember(rules: PreparedRules): void {
  let known = preparedByPolicy.get(rules.policy);
  if (known === undefined) {
    known = [];
    preparedByPolicy.set(rules.policy, known);
  }
  if (known.length >= MAX_COMBINATIONS) known.shift();
  known.push(rules);
}

/**
 * The prepared rules of a sign-in at `tenant`, or what is wrong with them. Immutable rules
 * already prepared are found by identity and not checked again: they were checked when first
 * prepared and cannot have changed since.
 */
export function prepareRules(
  tenant: string,
  policy: unknown,
  mandates: readonly PlatformMandate[],
): PreparedRules | string {
  const known = lookup(policy, mandates);
  if (known !== undefined && known.tenant === tenant) return known;
  const problem = checkRules(tenant, policy, mandates);
  if (problem !== undefined) return problem;
  const checked = policy as TenantPolicy;
  const immutable = isImmutableRule(checked) && mandates.every(isImmutableRule);
  const rules = new PreparedRules(checked, mandates, immutable);
  if (immutable) remember(rules);
  return rules;
}
