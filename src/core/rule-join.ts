import type { Decision } from "./decision.js";
import type { PlatformMandate, RequirementSpec, TenantPolicy } from "./policy.js";
import { PreparedRequirement } from "./prepared-requirement.js";
import { reason, type Reason } from "./reasons.js";
import type { RuleRef, SourcedSpec } from "./requirement.js";
import {
  hasRiskSpecs,
  immutableSpec,
  joinRequirementsOnce,
  mandateSpecs,
  tenantSpecs,
} from "./rule-specs.js";
import type { RiskLevel } from "./vocabulary.js";

/**
 * The rules of one combination of applicable mandates and risk level, grouped by who set them,
 * and their joins (see {@link Requirements}), prepared once for each requested step-up met.
 */
export class RuleJoin {
  readonly mandateSpecs: readonly SourcedSpec[];
  /** The subset an exemption cannot excuse. */
  readonly notExemptible: readonly SourcedSpec[];
  /** The ids of the mandates those come from: binding, and not exemptible. */
  readonly notExemptibleMandates: readonly string[];
  readonly tenantSpecs: readonly SourcedSpec[];
  /** A risk rule of a mandate or of the policy applies. */
  readonly riskApplied: boolean;
  /** Said when an exemption would apply but a non-exemptible mandate still binds. */
  readonly notExemptibleReason: Reason | undefined;
  readonly versions: Decision["versions"];

  readonly #withoutStepUp: Requirements;
  /** The last few step-ups requested under these rules, most recent last. */
  readonly #stepUps: Requirements[] = [];

  constructor(
    policy: TenantPolicy,
    mandates: readonly PlatformMandate[],
    risk: RiskLevel | undefined,
  ) {
    const specs: SourcedSpec[] = [];
    const notExemptible: SourcedSpec[] = [];
    const notExemptibleMandates: string[] = [];
    for (const m of mandates) {
      const own = mandateSpecs(m, risk);
      specs.push(...own);
      if (m.exemptible) continue;
      notExemptible.push(...own);
      notExemptibleMandates.push(m.id);
    }
    this.mandateSpecs = specs;
    this.notExemptible = notExemptible;
    this.notExemptibleMandates = Object.freeze(notExemptibleMandates);
    this.tenantSpecs = tenantSpecs(policy, risk);
    this.riskApplied = hasRiskSpecs(specs) || hasRiskSpecs(this.tenantSpecs);
    const first = notExemptible[0];
    this.notExemptibleReason =
      first === undefined
        ? undefined
        : Object.freeze(reason("exemption.not_exemptible", undefined, first.from));
    this.versions = Object.freeze({
      tenantPolicy: policy.version,
      mandates: Object.freeze(mandates.map((m) => Object.freeze({ id: m.id, version: m.version }))),
    });
    this.#withoutStepUp = new Requirements(this, undefined);
  }

  /**
   * The joins under these rules and the requested step-up. Step-ups arrive with requests, as
   * new objects each time, but platforms ask for a handful of kinds: the joins are kept per kind
   * (by content, never by the caller's object, which it may change later).
   */
  requirements(stepUp: RequirementSpec | undefined): Requirements {
    if (stepUp === undefined) return this.#withoutStepUp;
    const known = this.#stepUps.find((r) => r.stepUp !== undefined && sameSpec(r.stepUp, stepUp));
    if (known !== undefined) return known;
    const requirements = new Requirements(this, copySpec(stepUp));
    if (this.#stepUps.length >= MAX_STEP_UPS) this.#stepUps.shift();
    this.#stepUps.push(requirements);
    return requirements;
  }
}

const MAX_STEP_UPS = 8;

/** Where a requested step-up comes from in a requirement's provenance. */
const STEP_UP: RuleRef = Object.freeze({ kind: "step_up" });

/**
 * The joins of one {@link RuleJoin} and step-up, each prepared on first use: everything
 * (`full`), what still binds before the tenant's enforcement starts (`beforeEnforcement`: the
 * mandates), and what no exemption excuses (`residual`: the non-exemptible mandates). The
 * step-up, if any, is joined last into each.
 */
export class Requirements {
  readonly rules: RuleJoin;
  /** A frozen copy of the requested step-up. */
  readonly stepUp: RequirementSpec | undefined;
  readonly #stepUpSpecs: readonly SourcedSpec[];
  #full: PreparedRequirement | undefined;
  #beforeEnforcement: PreparedRequirement | undefined;
  #residual: PreparedRequirement | undefined;

  constructor(rules: RuleJoin, stepUp: RequirementSpec | undefined) {
    this.rules = rules;
    this.stepUp = stepUp;
    // Frozen, the copy is a memo key like the rules' own specs, and its joins are shared.
    this.#stepUpSpecs = stepUp === undefined ? [] : [immutableSpec(stepUp, STEP_UP)];
  }

  /** The join of every applicable mandate, the tenant policy and the step-up. */
  full(): PreparedRequirement {
    this.#full ??= this.#prepare(this.rules.mandateSpecs, this.rules.tenantSpecs);
    return this.#full;
  }

  /** Before the tenant's enforcement starts only its own requirement relaxes: mandates bind. */
  beforeEnforcement(): PreparedRequirement {
    this.#beforeEnforcement ??= this.#prepare(this.rules.mandateSpecs);
    return this.#beforeEnforcement;
  }

  /** What no exemption excuses: non-exemptible mandates and the requested step-up. */
  residual(): PreparedRequirement {
    this.#residual ??= this.#prepare(this.rules.notExemptible);
    return this.#residual;
  }

  #prepare(...groups: (readonly SourcedSpec[])[]): PreparedRequirement {
    return new PreparedRequirement(joinRequirementsOnce([...groups.flat(), ...this.#stepUpSpecs]));
  }
}

/** A frozen copy of the fields of a requirement spec, read once. */
function copySpec(spec: RequirementSpec): RequirementSpec {
  const methods = spec.acceptedMethods;
  return Object.freeze({
    minAal: spec.minAal,
    phishingResistant: spec.phishingResistant,
    userVerification: spec.userVerification,
    maxAgeSeconds: spec.maxAgeSeconds,
    reauthIntervalSeconds: spec.reauthIntervalSeconds,
    idleTimeoutSeconds: spec.idleTimeoutSeconds,
    acceptedMethods: methods === undefined ? undefined : Object.freeze([...methods]),
    proofSource: spec.proofSource,
  }) as RequirementSpec;
}

/** Whether two specs ask for the same, field by field (an absent field equals `undefined`). */
function sameSpec(a: RequirementSpec, b: RequirementSpec): boolean {
  return (
    a.minAal === b.minAal &&
    a.phishingResistant === b.phishingResistant &&
    a.userVerification === b.userVerification &&
    Object.is(a.maxAgeSeconds, b.maxAgeSeconds) &&
    Object.is(a.reauthIntervalSeconds, b.reauthIntervalSeconds) &&
    Object.is(a.idleTimeoutSeconds, b.idleTimeoutSeconds) &&
    sameMethods(a.acceptedMethods, b.acceptedMethods) &&
    a.proofSource === b.proofSource
  );
}

function sameMethods(
  a: RequirementSpec["acceptedMethods"],
  b: RequirementSpec["acceptedMethods"],
): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
