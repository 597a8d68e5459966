import { isImmutableRule } from "./input.js";
import type { PlatformMandate, RequirementSpec, RiskRules, TenantPolicy } from "./policy.js";
import { POSTURE_REQUIREMENTS } from "./postures.js";
import {
  joinRequirements,
  type EffectiveRequirement,
  type RuleRef,
  type SourcedSpec,
} from "./requirement.js";
import { RISK_LEVELS, type RiskLevel } from "./vocabulary.js";

/**
 * The requirement specs each rule contributes, and their join, computed once for rules that can
 * never change (checked and deeply frozen, as the service's rule cache hands them out) and
 * recomputed every time otherwise. Decisions of one tenant share a handful of rule combinations,
 * so this turns most of the requirement work into lookups.
 */

type LevelKey = RiskLevel;

/** Specs built from immutable rules: stable identities, usable as memo keys. */
const stableSpecs = new WeakSet<SourcedSpec>();
/**
 * The specs of each immutable rule by risk level, one map per kind of rule: an object that is
 * both a valid policy and a valid mandate contributes different specs as each.
 */
const specsByPolicy = new WeakMap<object, Map<LevelKey, readonly SourcedSpec[]>>();
const specsByMandate = new WeakMap<object, Map<LevelKey, readonly SourcedSpec[]>>();

function sourced(spec: RequirementSpec, from: RuleRef, stable: boolean): SourcedSpec {
  const result = Object.freeze({ spec, from: Object.freeze(from) });
  if (stable) stableSpecs.add(result);
  return result;
}

/**
 * A spec that can never change (deeply frozen by the caller), usable as a memo key of
 * {@link joinRequirementsOnce}: a requested step-up the engine has copied and frozen.
 */
export function immutableSpec(spec: RequirementSpec, from: RuleRef): SourcedSpec {
  return sourced(spec, from, true);
}

/** The base spec followed by the risk rules at and below `level` (lowest first). */
function specsAt(
  base: readonly SourcedSpec[],
  riskRules: RiskRules | undefined,
  level: RiskLevel,
  ref: (risk: RiskLevel) => RuleRef,
  stable: boolean,
): readonly SourcedSpec[] {
  if (riskRules === undefined) return base;
  const specs = [...base];
  for (const candidate of RISK_LEVELS) {
    const spec = riskRules[candidate];
    if (spec !== undefined) specs.push(sourced(spec, ref(candidate), stable));
    if (candidate === level) break;
  }
  return specs;
}

function memoized(
  specsByRule: WeakMap<object, Map<LevelKey, readonly SourcedSpec[]>>,
  rule: object,
  level: LevelKey,
  build: (stable: boolean) => readonly SourcedSpec[],
): readonly SourcedSpec[] {
  if (!isImmutableRule(rule)) return build(false);
  let byLevel = specsByRule.get(rule);
  if (byLevel === undefined) {
    byLevel = new Map();
    specsByRule.set(rule, byLevel);
  }
  let specs = byLevel.get(level);
  if (specs === undefined) {
    specs = Object.freeze(build(true));
    byLevel.set(level, specs);
  }
  return specs;
}

/**
 * What a mandate requires of a sign-in at this risk: its own spec, then its risk rules. A
 * missing risk level reads as the mandate's `unknownRisk`, else `medium`.
 */
export function mandateSpecs(
  mandate: PlatformMandate,
  risk: RiskLevel | undefined,
): readonly SourcedSpec[] {
  const level = risk ?? mandate.unknownRisk ?? "medium";
  return memoized(specsByMandate, mandate, level, (stable) => {
    const from: RuleRef = { kind: "mandate", id: mandate.id, version: mandate.version };
    return specsAt(
      [sourced(mandate.require, from, stable)],
      mandate.riskRules,
      level,
      (r) => ({ ...from, risk: r }),
      stable,
    );
  });
}

/**
 * What the tenant policy requires at this risk: its posture, its own requirement, then its risk
 * rules, read with the policy's own `unknownRisk` so that it never weakens a mandate.
 */
export function tenantSpecs(
  policy: TenantPolicy,
  risk: RiskLevel | undefined,
): readonly SourcedSpec[] {
  const level = risk ?? policy.unknownRisk ?? "medium";
  return memoized(specsByPolicy, policy, level, (stable) => {
    const from: RuleRef = { kind: "tenant_policy", version: policy.version };
    const base = [sourced(POSTURE_REQUIREMENTS[policy.posture], from, stable)];
    if (policy.require !== undefined) base.push(sourced(policy.require, from, stable));
    return specsAt(base, policy.riskRules, level, (r) => ({ ...from, risk: r }), stable);
  });
}

/** True when `specs` holds more than the rule's base spec(s): a risk rule applied. */
export function hasRiskSpecs(specs: readonly SourcedSpec[]): boolean {
  return specs.some(
    (s) => s.from.kind !== "step_up" && "risk" in s.from && s.from.risk !== undefined,
  );
}

interface JoinNode {
  requirement?: EffectiveRequirement;
  readonly next: WeakMap<SourcedSpec, JoinNode>;
}
const joinRoot: JoinNode = { next: new WeakMap() };

/**
 * {@link joinRequirements}, remembered per sequence of stable specs. The remembered requirement
 * is deeply frozen, since decisions share it.
 */
export function joinRequirementsOnce(specs: readonly SourcedSpec[]): EffectiveRequirement {
  let node = joinRoot;
  for (const spec of specs) {
    if (!stableSpecs.has(spec)) return joinRequirements(specs);
    let child = node.next.get(spec);
    if (child === undefined) {
      child = { next: new WeakMap() };
      node.next.set(spec, child);
    }
    node = child;
  }
  node.requirement ??= deepFreezeRequirement(joinRequirements(specs));
  return node.requirement;
}

function deepFreezeRequirement(requirement: EffectiveRequirement): EffectiveRequirement {
  for (const part of Object.values(requirement) as { value: unknown; from: readonly RuleRef[] }[]) {
    if (Array.isArray(part.value)) Object.freeze(part.value);
    for (const ref of part.from) Object.freeze(ref);
    Object.freeze(part.from);
    Object.freeze(part);
  }
  return Object.freeze(requirement);
}
