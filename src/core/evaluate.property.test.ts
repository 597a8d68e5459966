/**
 * Property-based tests of the policy core: the invariants of DESIGN.md that must hold for every
 * input, not only for the examples of evaluate.test.ts. Every property decides at one fixed
 * instant ({@link NOW}); generators live in ./test-support/arbitraries.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Decision, SatisfiedBy } from "./decision.js";
import { evaluate, type EvaluateOptions } from "./evaluate.js";
import type { AuthenticationEvent } from "./evidence.js";
import type { EvaluationInput } from "./input.js";
import type { PlatformMandate, RequirementSpec, TenantPolicy } from "./policy.js";
import type { EffectiveRequirement } from "./requirement.js";
import {
  DEFAULT_SKEW_SECONDS,
  FOREIGN_TENANT,
  NOW,
  NOW_MS,
  PRINCIPAL,
  TENANT,
  authenticationEventArb,
  corruptionArb,
  evaluationInputArb,
  exemptionArb,
  exemptionsArb,
  federatedEventArb,
  garbageArb,
  inertExemptionArb,
  invalidFor,
  malformedEventArb,
  malformedExemptionArb,
  noRequesterExemptionArb,
  nonStringTimeEventArb,
  omit,
  platformMandateArb,
  recentOffset,
  recoveryCodeEventArb,
  reportOnlyPolicyArb,
  setPath,
  sharedLoginExemptionArb,
  totpEventArb,
  unknownCategoryExemptionArb,
  usableExemptionArb,
  validRecentEventArb,
  webauthnEventArb,
  weakestPolicy,
  type InputPath,
} from "./test-support/arbitraries.js";
import {
  METHODS,
  RISK_LEVELS,
  type Aal,
  type Method,
  type Outcome,
  type ProofSource,
  type RiskLevel,
} from "./vocabulary.js";

const OPTIONS: EvaluateOptions = { now: NOW };

const decide = (input: EvaluationInput, options: EvaluateOptions = OPTIONS): Decision =>
  evaluate(input, options);

/**
 * Evaluates values that are not well typed, as a JavaScript caller or JSON could pass them.
 * (No default parameter: `options` may deliberately be `undefined`.)
 */
const decideUntyped = (input: unknown, ...options: [unknown] | []): Decision =>
  evaluate(
    input as EvaluationInput,
    (options.length === 0 ? OPTIONS : options[0]) as EvaluateOptions,
  );

const codes = (decision: { readonly reasons: readonly { readonly code: string }[] }): string[] =>
  decision.reasons.map((r) => r.code);

const withPolicy = (input: EvaluationInput, policy: TenantPolicy): EvaluationInput => ({
  ...input,
  policy,
});

const withEvents = (
  input: EvaluationInput,
  events: readonly AuthenticationEvent[],
): EvaluationInput => ({ ...input, evidence: { ...input.evidence, events } });

/** allow < challenge < deny. `not_applicable` is outside the order. */
const STRICTNESS: Readonly<Record<Exclude<Outcome, "not_applicable">, number>> = {
  allow: 0,
  challenge: 1,
  deny: 2,
};

const SOURCE_BITS: Readonly<Record<ProofSource, number>> = {
  platform: 1,
  idp: 2,
  idp_or_platform: 3,
};
const sourceBits = (source: ProofSource | null): number =>
  source === null ? 0 : SOURCE_BITS[source];

/** `null` means unbounded: `a` is at most as long as `b`. */
const boundAtMost = (a: number | null, b: number | null): boolean =>
  b === null || (a !== null && a <= b);

/** The parts in which `stricter` is weaker than `weaker` (empty when it is at least as strict). */
function weakenedParts(stricter: EffectiveRequirement, weaker: EffectiveRequirement): string[] {
  const parts: string[] = [];
  if (stricter.minAal.value < weaker.minAal.value) parts.push("minAal");
  if (weaker.phishingResistant.value && !stricter.phishingResistant.value)
    parts.push("phishingResistant");
  if (weaker.userVerification.value && !stricter.userVerification.value)
    parts.push("userVerification");
  if (!boundAtMost(stricter.maxAgeSeconds.value, weaker.maxAgeSeconds.value))
    parts.push("maxAgeSeconds");
  if (stricter.reauthIntervalSeconds.value > weaker.reauthIntervalSeconds.value)
    parts.push("reauthIntervalSeconds");
  if (!boundAtMost(stricter.idleTimeoutSeconds.value, weaker.idleTimeoutSeconds.value))
    parts.push("idleTimeoutSeconds");
  if (!stricter.acceptedMethods.value.every((m) => weaker.acceptedMethods.value.includes(m)))
    parts.push("acceptedMethods");
  const s = sourceBits(stricter.proofSource.value);
  if ((s & sourceBits(weaker.proofSource.value)) !== s) parts.push("proofSource");
  return parts;
}

/** The values of a requirement, without provenance. */
const requirementValues = (r: EffectiveRequirement | null) =>
  r === null
    ? null
    : Object.fromEntries(Object.entries(r).map(([part, { value }]) => [part, value as unknown]));

/** Every path into a JSON-like value (objects and arrays), the value itself included. */
function pathsOf(value: unknown, prefix: InputPath = []): InputPath[] {
  const paths: InputPath[] = [prefix];
  if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      paths.push(...pathsOf(child, [...prefix, Array.isArray(value) ? Number(key) : key]));
    }
  }
  return paths;
}

/**
 * What one mandate asks for on its own, computed here rather than by the engine: its spec and
 * its risk rules up to the sign-in's risk (read with the mandate's own `unknownRisk`), each part
 * joined the strictest way. `null` bounds are unbounded; `sourceBits` uses {@link SOURCE_BITS}.
 */
interface MandateFloor {
  readonly minAal: Aal;
  readonly phishingResistant: boolean;
  readonly userVerification: boolean;
  readonly maxAgeSeconds: number | null;
  readonly reauthIntervalSeconds: number | null;
  readonly idleTimeoutSeconds: number | null;
  readonly acceptedMethods: readonly Method[];
  readonly sourceBits: number;
}

function mandateFloor(mandate: PlatformMandate, risk: RiskLevel | undefined): MandateFloor {
  const level = risk ?? mandate.unknownRisk ?? "medium";
  const specs: RequirementSpec[] = [mandate.require];
  for (const candidate of RISK_LEVELS) {
    const spec = mandate.riskRules?.[candidate];
    if (spec !== undefined) specs.push(spec);
    if (candidate === level) break;
  }
  const least = (values: (number | undefined)[]): number | null => {
    const given = values.filter((v): v is number => v !== undefined);
    return given.length === 0 ? null : Math.min(...given);
  };
  return {
    minAal: Math.max(0, ...specs.map((s) => s.minAal ?? 0)) as Aal,
    phishingResistant: specs.some((s) => s.phishingResistant === true),
    userVerification: specs.some((s) => s.userVerification === true),
    maxAgeSeconds: least(specs.map((s) => s.maxAgeSeconds)),
    reauthIntervalSeconds: least(specs.map((s) => s.reauthIntervalSeconds)),
    idleTimeoutSeconds: least(specs.map((s) => s.idleTimeoutSeconds)),
    acceptedMethods: METHODS.filter((m) =>
      specs.every((s) => s.acceptedMethods === undefined || s.acceptedMethods.includes(m)),
    ),
    sourceBits: specs.reduce(
      (bits, s) => (s.proofSource === undefined ? bits : bits & SOURCE_BITS[s.proofSource]),
      3,
    ),
  };
}

/** The parts in which `requirement` asks less than the mandate's own `floor` (empty: none). */
function partsBelowMandate(requirement: EffectiveRequirement, floor: MandateFloor): string[] {
  const parts: string[] = [];
  if (requirement.minAal.value < floor.minAal) parts.push("minAal");
  if (floor.phishingResistant && !requirement.phishingResistant.value)
    parts.push("phishingResistant");
  if (floor.userVerification && !requirement.userVerification.value) parts.push("userVerification");
  if (!boundAtMost(requirement.maxAgeSeconds.value, floor.maxAgeSeconds))
    parts.push("maxAgeSeconds");
  if (!boundAtMost(requirement.reauthIntervalSeconds.value, floor.reauthIntervalSeconds))
    parts.push("reauthIntervalSeconds");
  if (!boundAtMost(requirement.idleTimeoutSeconds.value, floor.idleTimeoutSeconds))
    parts.push("idleTimeoutSeconds");
  if (!requirement.acceptedMethods.value.every((m) => floor.acceptedMethods.includes(m)))
    parts.push("acceptedMethods");
  const s = sourceBits(requirement.proofSource.value);
  if ((s & floor.sourceBits) !== s) parts.push("proofSource");
  return parts;
}

/** The parts of the mandate's own `floor` that the evidence of an allow does not meet. */
function evidenceShortOfMandate(satisfiedBy: SatisfiedBy, floor: MandateFloor): string[] {
  const parts: string[] = [];
  const proving = satisfiedBy.events[satisfiedBy.events.length - 1];
  if (satisfiedBy.aal < floor.minAal) parts.push("minAal");
  if (floor.phishingResistant && !satisfiedBy.phishingResistant) parts.push("phishingResistant");
  if (
    floor.userVerification &&
    satisfiedBy.events.some((e) => e.method === "webauthn" && !e.userVerified)
  )
    parts.push("userVerification");
  const age = NOW_MS - Date.parse(satisfiedBy.provenAt);
  if (floor.maxAgeSeconds !== null && age > floor.maxAgeSeconds * 1000) parts.push("maxAgeSeconds");
  const started = Math.min(...satisfiedBy.events.map((e) => Date.parse(e.at)));
  if (floor.reauthIntervalSeconds !== null && NOW_MS - started > floor.reauthIntervalSeconds * 1000)
    parts.push("reauthIntervalSeconds");
  if (proving === undefined || !floor.acceptedMethods.includes(proving.method))
    parts.push("acceptedMethods");
  if (proving === undefined || (SOURCE_BITS[proving.source] & floor.sourceBits) === 0)
    parts.push("proofSource");
  return parts;
}

/**
 * The mandates that bind this sign-in, by their scope and window as PlatformMandate documents
 * them: this tenant (or all), the principal's population or the one it is held to, and
 * `activeFrom ≤ now < activeUntil`.
 */
function bindingMandates(input: EvaluationInput, d: Decision): PlatformMandate[] {
  const populations = [d.principal.population, d.principal.treatedAs];
  return (input.mandates ?? []).filter(
    (m) =>
      (m.scope.tenants === "all" || m.scope.tenants.includes(TENANT)) &&
      (m.scope.populations === undefined ||
        m.scope.populations.some((p) => populations.includes(p))) &&
      (m.activeFrom === undefined || Date.parse(m.activeFrom) <= NOW_MS) &&
      (m.activeUntil === undefined || NOW_MS < Date.parse(m.activeUntil)),
  );
}

/**
 * Whether one of the input's exemptions excuses this principal now, by the rules Exemption
 * documents: this tenant and principal, approved by someone other than its requester, not a
 * shared login, `startsAt ≤ now < expiresAt`.
 */
const hasUsableExemption = (input: EvaluationInput): boolean =>
  (input.exemptions ?? []).some(
    (e) =>
      e.tenant === TENANT &&
      e.principal === PRINCIPAL &&
      e.status === "approved" &&
      e.approvedBy !== undefined &&
      e.approvedBy !== "" &&
      e.approvedBy !== e.requestedBy &&
      e.category !== "shared_login" &&
      Date.parse(e.startsAt) <= NOW_MS &&
      NOW_MS < Date.parse(e.expiresAt),
  );

// ---------------------------------------------------------------------------------------------

describe("mandate dominance (DESIGN invariant 2)", () => {
  // Threat: a tenant administrator weakens a platform mandate (an emergency uplift) through the
  // tenant policy. W, the weakest policy anyone could set (`mfa_optional`, nothing else), is the
  // floor: whatever the tenant configures must decide at least as strictly as W under the same
  // mandates, evidence, exemptions, risk and step-up, and require at least as much.
  it("no tenant policy decides more leniently, or requires less, than the weakest policy", () => {
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const p = decide(input);
        const w = decide(withPolicy(input, weakestPolicy(input.policy)));
        if (p.outcome === "not_applicable" || w.outcome === "not_applicable") {
          expect(p.outcome).toBe(w.outcome);
          return;
        }
        if (w.outcome !== "allow") expect(p.outcome).not.toBe("allow");
        expect(STRICTNESS[p.outcome]).toBeGreaterThanOrEqual(STRICTNESS[w.outcome]);
        // An exemption legitimately replaces the requirement by its residual (non-exemptible
        // mandates and step-up): compare requirements only when both decisions stand on the same
        // footing. (P needing its exemption where W did not is no weakening: W allowed anyway.)
        if (p.requirement !== null && w.requirement !== null) {
          if ((p.exemption === null) === (w.exemption === null)) {
            expect(weakenedParts(p.requirement, w.requirement)).toEqual([]);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  // The same, without any exemption, so the requirement comparison always applies.
  it("without exemptions, every part of the tenant's requirement is at least the weakest one's", () => {
    fc.assert(
      fc.property(evaluationInputArb({ exemptions: fc.constant([]) }), (input) => {
        const p = decide(input);
        const w = decide(withPolicy(input, weakestPolicy(input.policy)));
        expect(p.requirement === null).toBe(w.requirement === null);
        if (p.requirement !== null && w.requirement !== null) {
          expect(weakenedParts(p.requirement, w.requirement)).toEqual([]);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("mandate dominance against each mandate's own requirement (DESIGN invariant 2)", () => {
  // Threat: the engine joins the tenant's rules in place of the mandates' (or drops a mandate
  // part on the way), so a phishing-resistance uplift or a short maximum age never binds.
  // Comparing with the weakest policy under the same mandates cannot see that, since both
  // decisions would lose the mandates alike: here each applicable mandate's own requirement,
  // computed from the mandate document, is the floor. With a usable exemption, a sign-in the
  // full requirement does not allow is held to what no exemption excuses (the non-exemptible
  // mandates), and an exemption used still names every mandate in what it excused.
  it("the effective requirement, and the evidence of an allow, meet each applicable mandate's own requirement", () => {
    fc.assert(
      fc.property(
        evaluationInputArb({
          mandates: fc.array(platformMandateArb, { minLength: 1, maxLength: 3 }),
        }),
        (input) => {
          const d = decide(input);
          if (d.requirement === null) return; // guests and token-based integrations
          const applicable = bindingMandates(input, d);
          expect(d.versions.mandates).toEqual(
            applicable.map(({ id, version }) => ({ id, version })),
          );
          const fullRequirement =
            !hasUsableExemption(input) || (d.outcome === "allow" && d.exemption === null);
          for (const mandate of applicable) {
            const floor = mandateFloor(mandate, input.risk);
            if (fullRequirement || !mandate.exemptible) {
              expect(partsBelowMandate(d.requirement, floor), mandate.id).toEqual([]);
              if (d.outcome === "allow") {
                expect(d.satisfiedBy).not.toBeNull();
                if (d.satisfiedBy !== null)
                  expect(evidenceShortOfMandate(d.satisfiedBy, floor), mandate.id).toEqual([]);
              }
            }
            if (d.exemption !== null)
              expect(partsBelowMandate(d.exemption.excused, floor), mandate.id).toEqual([]);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("hardware assurance", () => {
  // Threat: a software authenticator or a synced passkey counted as a hardware security key.
  // AAL3 needs a hardware-based authenticator (SP 800-63B-4 §2.3.1): on the platform only a
  // credential whose attestation was trusted and whose key cannot leave it (BE=0) proves it.
  it("an AAL3 proof on the platform always rests on an attested, device-bound credential", () => {
    let aal3 = 0;
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const proof = decide(input).satisfiedBy;
        if (proof === null || proof.aal < 3) return;
        aal3 += 1;
        const hardware = proof.events.some(
          (e) =>
            e.method === "federated" ||
            (e.method === "webauthn" && e.attested === true && !e.backupEligible),
        );
        expect(hardware, JSON.stringify(proof.events)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(aal3).toBeGreaterThan(0);
  });

  it("taking the attestation off every WebAuthn event never keeps an AAL3 proof", () => {
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const events = input.evidence.events.map((e) =>
          e.method === "webauthn" ? omit(e, "attested") : e,
        );
        const proof = decide({ ...input, evidence: { ...input.evidence, events } }).satisfiedBy;
        if (proof === null) return;
        const platformOnly = proof.events.every((e) => e.method !== "federated");
        if (platformOnly) expect(proof.aal).toBeLessThan(3);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("monotonicity in evidence", () => {
  // Threat to availability and to reasoning about the engine: more proof must never count
  // against a sign-in. A valid event (not after now, from this tenant's IdP) only adds
  // assurances. Carve-out by design (seed 000): a password step makes a token-based integration
  // a person, so password events are not added to an input allowed as `population.integration_token`.
  it("adding a valid, recent authentication event keeps an allow", () => {
    fc.assert(
      fc.property(evaluationInputArb(), validRecentEventArb, (input, event) => {
        const before = decide(input);
        if (before.outcome !== "allow") return;
        if (codes(before).includes("population.integration_token") && event.method === "password")
          return;
        const after = decide(withEvents(input, [...input.evidence.events, event]));
        expect(after.outcome).toBe("allow");
      }),
      { numRuns: 1000 },
    );
  });

  // Stronger proof from the IdP must not count against a sign-in either: an IdP sign-in that
  // proved MFA is at least the first factor that a single-factor one is, so a platform second
  // factor after it pairs with it just the same.
  it("raising what a federated event proves keeps an allow", () => {
    fc.assert(
      fc.property(
        evaluationInputArb({
          events: fc
            .tuple(
              federatedEventArb({ offset: recentOffset, federatedTenant: fc.constant(TENANT) }),
              fc.array(validRecentEventArb, { maxLength: 3 }),
            )
            .map(([idp, rest]) => [idp, ...rest]),
        }),
        fc.constantFrom<Aal>(2, 3),
        fc.boolean(),
        (input, floor, resistant) => {
          if (decide(input).outcome !== "allow") return;
          const stronger = input.evidence.events.map((e): AuthenticationEvent =>
            e.method === "federated"
              ? {
                  ...e,
                  assurance: {
                    aal: Math.max(e.assurance.aal, floor) as Aal,
                    phishingResistant: e.assurance.phishingResistant || resistant,
                  },
                }
              : e,
          );
          expect(decide(withEvents(input, stronger)).outcome).toBe("allow");
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("exemptions are re-checked by the engine", () => {
  // Threat: an exemption that is expired, not yet active, for someone else, from another tenant,
  // not approved, or approved by its own requester excuses a sign-in. Such exemptions must be
  // invisible: the decision is the same, field for field, with or without them.
  it("expired, future, foreign, unapproved and self-approved exemptions never change a decision", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        fc.array(inertExemptionArb, { minLength: 1, maxLength: 3 }),
        (input, inert) => {
          const without = decide(input);
          const withInert = decide({
            ...input,
            exemptions: [...(input.exemptions ?? []), ...inert],
          });
          expect(withInert.outcome).toBe(without.outcome);
          expect(withInert.requirement).toEqual(without.requirement);
          expect(withInert.satisfiedBy).toEqual(without.satisfiedBy);
          expect(withInert.exemption).toEqual(without.exemption);
          expect(withInert.challenge).toEqual(without.challenge);
          expect(withInert.reasons).toEqual(without.reasons);
          expect(JSON.stringify(withInert)).toBe(JSON.stringify(without));
        },
      ),
      { numRuns: 500 },
    );
  });

  // Seed 001: shared logins can never be exempted. A shared_login exemption, valid or not,
  // never yields an allow that the same input without it would not.
  it("shared_login exemptions never produce an allow", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        fc.array(sharedLoginExemptionArb, { minLength: 1, maxLength: 2 }),
        (input, shared) => {
          const without = decide(input);
          const withShared = decide({
            ...input,
            exemptions: [...(input.exemptions ?? []), ...shared],
          });
          if (withShared.outcome === "allow") expect(without.outcome).toBe("allow");
          expect(withShared.outcome).toBe(without.outcome);
          expect(withShared.exemption?.category).not.toBe("shared_login");
        },
      ),
      { numRuns: 500 },
    );
  });

  // A refused shared-login exemption says so (seed 001: the refusal must be visible).
  it("an otherwise valid shared_login exemption is refused with a reason", () => {
    fc.assert(
      fc.property(
        evaluationInputArb({
          exemptions: fc.constant([]),
          population: fc.constantFrom("direct", "sso", "api_human"),
        }),
        usableExemptionArb,
        (input, valid) => {
          const d = decide({ ...input, exemptions: [{ ...valid, category: "shared_login" }] });
          expect(d.exemption).toBeNull();
          expect(codes(d)).toContain("exemption.shared_login_refused");
        },
      ),
      { numRuns: 300 },
    );
  });

  // Seed 001 again, by the principal rather than the category: a login marked as shared is
  // never excused, whatever the exemption says it is for. Without the mark an exemption may
  // let it through; with it, the decision is the one without exemptions, plus the refusal.
  it("no exemption of any category lets a principal marked as a shared login through", () => {
    fc.assert(
      fc.property(
        evaluationInputArb({ population: fc.constantFrom("direct", "sso", "api_human") }),
        fc.array(usableExemptionArb, { minLength: 1, maxLength: 2 }),
        (input, usable) => {
          const shared = { ...input.principal, sharedLogin: true };
          const exempted = decide({ ...input, principal: shared, exemptions: usable });
          const without = decide({ ...input, principal: shared, exemptions: [] });
          expect(exempted.exemption).toBeNull();
          expect(exempted.outcome).toBe(without.outcome);
          expect(codes(exempted)).toContain("exemption.shared_login_refused");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a shared-login mark that is not true or false is denied, never read as unmarked", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.constant("false")),
        (input, mark) => {
          const d = decideUntyped({
            ...input,
            principal: { ...input.principal, sharedLogin: mark },
          });
          expect(d.outcome).toBe("deny");
        },
      ),
      { numRuns: 200 },
    );
  });

  // Threat: an exemption lifts a mandate that platform administrators marked not exemptible.
  // Whatever the exemptions and the tenant policy, if the non-exemptible mandates alone (under
  // the weakest policy, without exemptions) do not allow, the decision does not allow.
  it("no exemption lifts a non-exemptible mandate", () => {
    fc.assert(
      fc.property(
        evaluationInputArb({
          exemptions: exemptionsArb(fc.oneof(usableExemptionArb, exemptionArb)),
        }),
        (input) => {
          const hardOnly = decide({
            ...input,
            policy: weakestPolicy(input.policy),
            mandates: (input.mandates ?? []).filter((m) => !m.exemptible),
            exemptions: [],
          });
          const d = decide(input);
          if (hardOnly.outcome !== "allow") expect(d.outcome).not.toBe("allow");
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("determinism", () => {
  // A receipt must be reproducible: the same input and `now` give the same decision, whatever
  // object identity the input has and in whatever order the exemptions are listed.
  it("the same input and now give deep-equal decisions", () => {
    fc.assert(
      fc.property(evaluationInputArb(), fc.option(fc.string(), { nil: undefined }), (input, id) => {
        const options: EvaluateOptions = id === undefined ? OPTIONS : { now: NOW, id };
        const first = JSON.stringify(decide(input, options));
        expect(JSON.stringify(decide(input, options))).toBe(first);
        expect(
          JSON.stringify(decide(structuredClone(input), { ...options, now: new Date(NOW_MS) })),
        ).toBe(first);
        const reversed = { ...input, exemptions: [...(input.exemptions ?? [])].reverse() };
        expect(JSON.stringify(decide(reversed, options))).toBe(first);
      }),
      { numRuns: 500 },
    );
  });
});

describe("guests", () => {
  // Policy does not apply to guest access: never a requirement, never a challenge.
  it("a guest always gets not_applicable", () => {
    fc.assert(
      fc.property(evaluationInputArb({ population: fc.constant("guest") }), (input) => {
        const d = decide(input);
        expect(d.outcome).toBe("not_applicable");
        expect(d.requirement).toBeNull();
        expect(d.satisfiedBy).toBeNull();
        expect(d.exemption).toBeNull();
        expect(d.challenge).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe("fail closed (DESIGN invariant 1)", () => {
  // Threat: input the engine cannot read (a bug in a caller, a corrupted store row, JSON from
  // elsewhere) slips through as allow, or crashes the decision path.
  it("random garbage input never yields allow and never throws", () => {
    fc.assert(
      fc.property(fc.anything(), (garbage) => {
        const d = decideUntyped(garbage);
        expect(d.outcome).toBe("deny");
      }),
      { numRuns: 1000 },
    );
  });

  // Wrong types, unknown posture / population / method / proof-source / risk words and invalid
  // times anywhere the engine must read (input shape, tenant policy, every mandate, step-up)
  // stop the decision: deny with input.invalid or policy.invalid, never allow, never a throw.
  it("an input with a wrong type or unknown word in a field it must read is denied", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        platformMandateArb,
        corruptionArb,
        (input, mandate, corruption) => {
          const withMandate = { ...input, mandates: [mandate, ...(input.mandates ?? [])] };
          const corrupted = setPath(withMandate, corruption.path, corruption.value);
          const d = decideUntyped(corrupted);
          expect(d.outcome).toBe("deny");
          expect(["input.invalid", "policy.invalid"]).toContain(d.reasons[0]?.code);
          expect(d.requirement).toBeNull();
          expect(d.satisfiedBy).toBeNull();
          expect(d.exemption).toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });

  // The clock is an input: an invalid `now` (Invalid Date, or not a Date at all) is refused.
  it("an invalid now is denied", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        fc.oneof(
          fc.constant(new Date(Number.NaN)),
          invalidFor((v) => v instanceof Date),
        ),
        (input, now) => {
          const d = decideUntyped(input, { now });
          expect(d.outcome).toBe("deny");
          expect(codes(d)).toEqual(["input.invalid"]);
        },
      ),
      { numRuns: 300 },
    );
  });

  // DESIGN's public contract is `evaluate(input, options?)` and the engine promises never to
  // throw: a missing or malformed options object must give a deny, not a TypeError.
  it("missing or malformed options never throw and never allow", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        fc.oneof(
          fc.constantFrom(undefined, null, 0, "now", NOW.toISOString()),
          invalidFor((v) => typeof v === "object" && v !== null && "now" in v),
        ),
        (input, options) => {
          let d: Decision | undefined;
          expect(() => (d = decideUntyped(input, options))).not.toThrow();
          expect(d?.outcome).toBe("deny");
        },
      ),
      { numRuns: 300 },
    );
  });

  // A clock skew that is not a finite number must not widen the window for events dated in the
  // future: the decision is never more lenient than with the default skew (60 s).
  it("an invalid clockSkewSeconds never lets a future-dated event count", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        fc.oneof(
          fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, "sixty", "1m", {}, [60, 60]),
          invalidFor((v) => v === undefined || v === null || typeof v === "number"),
        ),
        (input, skew) => {
          const d = decideUntyped(input, { now: NOW, clockSkewSeconds: skew });
          if (d.outcome === "allow") expect(decide(input).outcome).toBe("allow");
          for (const e of d.satisfiedBy?.events ?? []) {
            expect(Date.parse(e.at)).toBeLessThanOrEqual(NOW_MS + DEFAULT_SKEW_SECONDS * 1000);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  // A malformed event (unknown method, wrong source, wrong-typed flags, assurance out of range,
  // no tenant or IdP, not an object) is ignored: it never makes an allow, never satisfies.
  it("malformed evidence events are never counted", () => {
    fc.assert(
      fc.property(evaluationInputArb(), malformedEventArb, (input, bad) => {
        const without = decide(input);
        const d = decide(withEvents(input, [...input.evidence.events, bad as AuthenticationEvent]));
        if (d.outcome === "allow") expect(without.outcome).toBe("allow");
        expect(d.satisfiedBy?.events ?? []).not.toContain(bad);
      }),
      { numRuns: 1000 },
    );
  });

  // `at` is an ISO 8601 string (evidence.ts); something else is a malformed event, even if
  // JavaScript would coerce it into a time. It must be ignored like any other malformed event.
  it("an event whose time is not a string is never counted", () => {
    fc.assert(
      fc.property(evaluationInputArb(), nonStringTimeEventArb, (input, bad) => {
        const without = decide(input);
        const d = decide(withEvents(input, [...input.evidence.events, bad as AuthenticationEvent]));
        if (d.outcome === "allow") expect(without.outcome).toBe("allow");
        expect(d.satisfiedBy?.events ?? []).not.toContain(bad);
      }),
      { numRuns: 1000 },
    );
  });

  // An exemption whose category is outside the closed vocabulary (e.g. "SHARED_LOGIN") cannot
  // be shown not to be a shared login: it must not apply (seed 001, fail closed).
  it("an exemption with an unknown category never applies", () => {
    fc.assert(
      fc.property(evaluationInputArb(), unknownCategoryExemptionArb, (input, bad) => {
        const without = decide(input);
        const d = decideUntyped({ ...input, exemptions: [...(input.exemptions ?? []), bad] });
        expect(d).toEqual(without);
      }),
      { numRuns: 500 },
    );
  });

  // "Approver, never the requester": without a requester that separation cannot be checked, so
  // the exemption must not apply.
  it("an exemption without a requester never applies", () => {
    fc.assert(
      fc.property(evaluationInputArb(), noRequesterExemptionArb, (input, bad) => {
        const without = decide(input);
        const d = decideUntyped({ ...input, exemptions: [...(input.exemptions ?? []), bad] });
        expect(d).toEqual(without);
      }),
      { numRuns: 500 },
    );
  });

  // Other malformed exemptions (wrong-typed id, tenant, principal, status, dates, approver, or
  // not an object) never apply and never break the decision.
  it("a malformed exemption never applies", () => {
    fc.assert(
      fc.property(evaluationInputArb(), malformedExemptionArb, (input, bad) => {
        const without = decide(input);
        const d = decideUntyped({ ...input, exemptions: [...(input.exemptions ?? []), bad] });
        expect(d).toEqual(without);
      }),
      { numRuns: 500 },
    );
  });

  // A value that is JSON-serialisable garbage inside evaluate's options or input must never
  // surface as a thrown exception: the engine's contract is "never throws".
  it("garbage anywhere in a valid input never throws", () => {
    fc.assert(
      fc.property(evaluationInputArb(), fc.nat(), garbageArb, (input, pick, value) => {
        const paths = pathsOf(input);
        const path = paths[pick % paths.length] ?? [];
        let d: Decision | undefined;
        expect(() => (d = decideUntyped(setPath(input, path, value)))).not.toThrow();
        expect(d?.evaluatedAt).toBe(NOW.toISOString());
      }),
      { numRuns: 500 },
    );
  });
});

describe("evidence from another tenant's IdP never counts (DESIGN invariant 9)", () => {
  // Threat: a user of globex (or its IdP) signs in to acme with globex's MFA assertion.
  it("re-labelling federated events as globex's never turns a non-allow into allow", () => {
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const original = decide(input);
        const foreign = decide(
          withEvents(
            input,
            input.evidence.events.map((e) =>
              e.method === "federated" ? { ...e, tenant: FOREIGN_TENANT } : e,
            ),
          ),
        );
        if (original.outcome !== "allow") expect(foreign.outcome).not.toBe("allow");
        for (const e of foreign.satisfiedBy?.events ?? []) expect(e.method).not.toBe("federated");
      }),
      { numRuns: 1000 },
    );
  });

  it("a sign-in proven only by another tenant's IdP is never allowed", () => {
    fc.assert(
      fc.property(
        evaluationInputArb({
          population: fc.constantFrom("direct", "sso", "api_human", "integration"),
          events: fc.array(federatedEventArb({ federatedTenant: fc.constant(FOREIGN_TENANT) }), {
            minLength: 1,
            maxLength: 4,
          }),
          exemptions: fc.constant([]),
        }),
        (input) => {
          const d = decide(input);
          if (codes(d).includes("population.integration_token")) return;
          expect(d.outcome).not.toBe("allow");
          expect(d.satisfiedBy).toBeNull();
          // Events dated beyond the clock skew are refused as from the future before the
          // tenant is looked at; any other is refused as foreign.
          const latest = NOW_MS + DEFAULT_SKEW_SECONDS * 1000;
          if (input.evidence.events.some((e) => Date.parse(e.at) <= latest))
            expect(codes(d)).toContain("evidence.ignored.foreign_tenant");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("whatever satisfies a decision names this tenant", () => {
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const d = decide(input);
        for (const e of d.satisfiedBy?.events ?? []) {
          if (e.method === "federated") expect(e.tenant).toBe(TENANT);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("decision shape", () => {
  // An allow must be explainable on the receipt: by the evidence that satisfied the requirement,
  // by an exemption, or as a token-based integration. A challenge offers at least one way
  // forward; allow, deny and not_applicable offer none.
  it("allow has a justification, challenge has options, allow and deny have none", () => {
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const d = decide(input);
        switch (d.outcome) {
          case "allow": {
            const token =
              codes(d).includes("population.integration_token") &&
              input.principal.population === "integration" &&
              input.evidence.grant !== undefined;
            expect(d.satisfiedBy !== null || d.exemption !== null || token).toBe(true);
            expect(d.challenge).toEqual([]);
            break;
          }
          case "challenge":
            expect(d.challenge.length).toBeGreaterThan(0);
            expect(d.satisfiedBy).toBeNull();
            break;
          case "deny":
          case "not_applicable":
            expect(d.challenge).toEqual([]);
            expect(d.satisfiedBy).toBeNull();
            break;
        }
        if (d.reportOnly !== undefined) {
          const r = d.reportOnly;
          if (r.outcome === "challenge") expect(r.challenge.length).toBeGreaterThan(0);
          else expect(r.challenge).toEqual([]);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("guidance never offers enrolment before a first factor", () => {
  // Threat: someone who has proven nothing follows the engine's options (a library caller of
  // `evaluate`, with no hosted flow in between) and binds their own passkey or TOTP to the
  // account. Enrolling needs a fresh sign-in, so when the evidence holds neither a first factor
  // nor a key that verified the user, every `enroll` option comes after `reauthenticate`
  // (SP 800-63B-4 §4.1.2).
  const secondFactorsOnly = fc.array(
    fc.oneof(totpEventArb(), recoveryCodeEventArb(), webauthnEventArb()),
    { maxLength: 3 },
  );
  const events = fc.oneof(
    fc.array(authenticationEventArb(), { maxLength: 5 }),
    secondFactorsOnly,
    fc.constant([]),
  );

  /**
   * Whether an event could be a fresh sign-in: a first factor (a password, an IdP sign-in proving
   * a factor) or a key that verified the user (multi-factor on its own), within the
   * reauthentication interval. Wider than what the engine counts (it ignores tenant, IdP and
   * clock skew), so the property below only ever asks less than the engine does.
   */
  const mayBeFreshSignIn = (event: AuthenticationEvent, reauthSeconds: number): boolean =>
    (event.method === "password" ||
      (event.method === "federated" && event.assurance.aal >= 1) ||
      (event.method === "webauthn" && event.userVerified)) &&
    NOW_MS - Date.parse(event.at) <= reauthSeconds * 1000;

  const enrolBeforeReauthenticate = (challenge: readonly { readonly kind: string }[]): boolean => {
    const firstEnrol = challenge.findIndex((o) => o.kind === "enroll");
    const reauthenticate = challenge.findIndex((o) => o.kind === "reauthenticate");
    return firstEnrol >= 0 && (reauthenticate < 0 || reauthenticate > firstEnrol);
  };

  it("every enrol option is preceded by reauthenticate unless a fresh first factor, or a key that verified the user, is in the evidence", () => {
    let enrolmentsChecked = 0;
    fc.assert(
      fc.property(evaluationInputArb({ events }), (input) => {
        const d = decide(input);
        const guided = [
          { requirement: d.requirement, challenge: d.challenge },
          ...(d.reportOnly === undefined ? [] : [d.reportOnly]),
        ];
        for (const { requirement, challenge } of guided) {
          if (requirement === null || !challenge.some((o) => o.kind === "enroll")) continue;
          const reauth = requirement.reauthIntervalSeconds.value;
          if (input.evidence.events.some((e) => mayBeFreshSignIn(e, reauth))) continue;
          enrolmentsChecked += 1;
          expect(enrolBeforeReauthenticate(challenge), JSON.stringify(challenge)).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
    // The property must have met enrolments without a first factor, or it proved nothing.
    expect(enrolmentsChecked).toBeGreaterThan(50);
  });

  it("with a password checked just now, reauthenticate is never offered", () => {
    const justNow: AuthenticationEvent = {
      method: "password",
      source: "platform",
      at: NOW.toISOString(),
    };
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const d = decide(withEvents(input, [justNow, ...input.evidence.events]));
        expect(d.challenge.map((o) => o.kind)).not.toContain("reauthenticate");
      }),
      { numRuns: 1000 },
    );
  });
});

describe("report_only never weakens mandates", () => {
  // Threat: a tenant schedules enforcement in the future and thereby escapes a mandate that
  // binds now. Before enforcement starts only the tenant's own requirement is relaxed: the
  // outcome (and requirement) is that of the weakest policy under the same mandates, and the
  // report says what enforcing the tenant policy would decide.
  it("before enforcement starts, the outcome is the weakest policy's under the same mandates", () => {
    fc.assert(
      fc.property(evaluationInputArb({ policy: reportOnlyPolicyArb }), (input) => {
        const d = decide(input);
        const w = decide(withPolicy(input, weakestPolicy(input.policy)));
        expect(d.outcome).toBe(w.outcome);
        expect(requirementValues(d.requirement)).toEqual(requirementValues(w.requirement));
        if (d.requirement === null) return; // guests and token-based integrations
        expect(d.mode).toBe("report_only");
        const enforced = decide(withPolicy(input, omit(input.policy, "enforcementStartsAt")));
        expect(enforced.mode).toBe("enforce");
        expect(d.reportOnly?.outcome).toBe(enforced.outcome);
      }),
      { numRuns: 500 },
    );
  });
});
