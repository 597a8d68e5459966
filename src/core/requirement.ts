import type { RequirementSpec } from "./policy.js";
import { METHODS, type Aal, type Method, type ProofSource, type RiskLevel } from "./vocabulary.js";

/**
 * Where one part of an effective requirement came from.
 *
 * - `mandate` / `tenant_policy`: a rule, with its version; `risk` when it came from risk rules.
 * - `step_up`: the assurance the platform requested for a sensitive action.
 * - `nist_default`: NIST SP 800-63B-4 reauthentication defaults for the required AAL.
 * - `baseline`: the floor every applicable sign-in meets (at least one verified factor).
 */
export type RuleRef =
  | {
      readonly kind: "mandate";
      readonly id: string;
      readonly version: number;
      readonly risk?: RiskLevel;
    }
  | { readonly kind: "tenant_policy"; readonly version: number; readonly risk?: RiskLevel }
  | { readonly kind: "step_up" }
  | { readonly kind: "nist_default" }
  | { readonly kind: "baseline" };

/** One part of the effective requirement and the rules that decided its value. */
export interface RequirementPart<T> {
  readonly value: T;
  readonly from: readonly RuleRef[];
}

/**
 * What a sign-in must prove: the join of every applicable rule. Each part keeps its provenance.
 * `proofSource` is `null` when the rules accept no common source (the requirement conflicts).
 */
export interface EffectiveRequirement {
  readonly minAal: RequirementPart<Aal>;
  readonly phishingResistant: RequirementPart<boolean>;
  readonly userVerification: RequirementPart<boolean>;
  readonly maxAgeSeconds: RequirementPart<number | null>;
  readonly reauthIntervalSeconds: RequirementPart<number>;
  readonly idleTimeoutSeconds: RequirementPart<number | null>;
  readonly acceptedMethods: RequirementPart<readonly Method[]>;
  readonly proofSource: RequirementPart<ProofSource | null>;
}

/** A requirement stated by one rule, with the rule's identity. */
export interface SourcedSpec {
  readonly spec: RequirementSpec;
  readonly from: RuleRef;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * NIST SP 800-63B-4 §2 reauthentication limits by AAL: overall and inactivity. AAL1 sets only
 * the overall limit (SHOULD ≤ 30 days).
 */
export const REAUTH_DEFAULTS: Readonly<Record<Aal, { overall: number; idle: number | null }>> = {
  0: { overall: 30 * DAY, idle: null },
  1: { overall: 30 * DAY, idle: null },
  2: { overall: 24 * HOUR, idle: HOUR },
  3: { overall: 12 * HOUR, idle: 15 * 60 },
};

// Frozen: every requirement that names them shares them, and so does every decision.
const BASELINE: RuleRef = Object.freeze({ kind: "baseline" });
const NIST: RuleRef = Object.freeze({ kind: "nist_default" });
const SOURCE_BITS: Readonly<Record<ProofSource, number>> = {
  platform: 1,
  idp: 2,
  idp_or_platform: 3,
};
const BITS_SOURCE: readonly (ProofSource | null)[] = [null, "platform", "idp", "idp_or_platform"];

class MaxPart<T extends number> {
  value: T;
  from: RuleRef[];
  constructor(value: T, from: RuleRef[]) {
    this.value = value;
    this.from = from;
  }
  raise(value: T | undefined, by: RuleRef): void {
    if (value === undefined) return;
    if (value > this.value) {
      this.value = value;
      this.from = [by];
    } else if (value === this.value) this.from.push(by);
  }
}

class MinPart {
  value: number | null = null;
  from: RuleRef[] = [];
  lower(value: number | undefined, by: RuleRef): void {
    if (value === undefined) return;
    if (this.value === null || value < this.value) {
      this.value = value;
      this.from = [by];
    } else if (value === this.value) this.from.push(by);
  }
}

/**
 * Joins rules into the effective requirement: the highest AAL, phishing resistance and user
 * verification if any rule asks, the shortest maximum age and reauthentication limits, the
 * intersection of accepted methods and of proof sources. Each part remembers the rules that
 * decided it. Joining is commutative and can only make a requirement stricter.
 */
export function joinRequirements(specs: readonly SourcedSpec[]): EffectiveRequirement {
  const minAal = new MaxPart<Aal>(1, [BASELINE]);
  const maxAge = new MinPart();
  const reauth = new MinPart();
  const idle = new MinPart();
  const pr: RuleRef[] = [];
  const uv: RuleRef[] = [];
  let methods: readonly Method[] = METHODS;
  const methodsFrom: RuleRef[] = [];
  let sources = 3;
  const sourcesFrom: RuleRef[] = [];

  for (const { spec, from } of specs) {
    minAal.raise(spec.minAal, from);
    if (spec.phishingResistant === true) pr.push(from);
    if (spec.userVerification === true) uv.push(from);
    maxAge.lower(spec.maxAgeSeconds, from);
    reauth.lower(spec.reauthIntervalSeconds, from);
    idle.lower(spec.idleTimeoutSeconds, from);
    if (spec.acceptedMethods !== undefined) {
      const accepted = spec.acceptedMethods;
      methods = methods.filter((m) => accepted.includes(m));
      methodsFrom.push(from);
    }
    if (spec.proofSource !== undefined) {
      sources &= SOURCE_BITS[spec.proofSource];
      sourcesFrom.push(from);
    }
  }

  // NIST defaults for the required AAL bound the reauthentication limits unless a rule is tighter.
  const defaults = REAUTH_DEFAULTS[minAal.value];
  reauth.lower(defaults.overall, NIST);
  if (defaults.idle !== null) idle.lower(defaults.idle, NIST);

  return {
    minAal: { value: minAal.value, from: minAal.from },
    phishingResistant: { value: pr.length > 0, from: pr },
    userVerification: { value: uv.length > 0, from: uv },
    maxAgeSeconds: { value: maxAge.value, from: maxAge.from },
    reauthIntervalSeconds: { value: reauth.value ?? defaults.overall, from: reauth.from },
    idleTimeoutSeconds: { value: idle.value, from: idle.from },
    acceptedMethods: { value: methods, from: methodsFrom },
    proofSource: { value: BITS_SOURCE[sources] ?? null, from: sourcesFrom },
  };
}
