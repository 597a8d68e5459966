/**
 * Rules of the requested step-up that a mutation survey found unpinned: what a step-up asks for
 * binds like a mandate that cannot be exempted, field by field, and the joins the engine keeps
 * per kind of step-up (for rules that can never change) are never handed to a step-up that asks
 * for something else. Threat: a sensitive action decided under a weaker step-up than the one
 * the platform requested.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Decision } from "./decision.js";
import { evaluate } from "./evaluate.js";
import type { EvaluationInput } from "./input.js";
import type { PlatformMandate, RequirementSpec } from "./policy.js";
import type { EffectiveRequirement } from "./requirement.js";
import { NOW, evaluationInputArb, omit, requirementSpecArb } from "./test-support/arbitraries.js";
import { withFrozenRules } from "./test-support/frozen-rules.js";
import { input as fixtureInput, password, totp } from "./test-support/fixtures.js";

const decide = (input: EvaluationInput): Decision => evaluate(input, { now: NOW, id: "d" });
const text = (decision: Decision): string => JSON.stringify(decision);

/** The values of a requirement, without provenance. */
const requirementValues = (r: EffectiveRequirement | null | undefined) =>
  r === null || r === undefined
    ? r
    : Object.fromEntries(Object.entries(r).map(([part, { value }]) => [part, value as unknown]));

const SPEC_FIELDS = [
  "minAal",
  "phishingResistant",
  "userVerification",
  "maxAgeSeconds",
  "reauthIntervalSeconds",
  "idleTimeoutSeconds",
  "acceptedMethods",
  "proofSource",
] as const satisfies readonly (keyof RequirementSpec)[];

/** `spec` with `field` taken from `other` (absent when `other` lacks it). */
function withFieldOf(
  spec: RequirementSpec,
  other: RequirementSpec,
  field: (typeof SPEC_FIELDS)[number],
): RequirementSpec {
  const copy: Record<string, unknown> = { ...spec };
  if (other[field] === undefined) Reflect.deleteProperty(copy, field);
  else copy[field] = other[field];
  return copy;
}

describe("a requested step-up", () => {
  it("binds as a platform-wide mandate that cannot be exempted would, in every part", () => {
    fc.assert(
      fc.property(evaluationInputArb(), requirementSpecArb, (generated, stepUp) => {
        const input = omit(generated, "stepUp");
        const asStepUp = decide({ ...input, stepUp });
        const asMandate: PlatformMandate = {
          id: "step-up-as-mandate",
          version: 1,
          scope: { tenants: "all" },
          require: stepUp,
          exemptible: false,
        };
        const mandated = decide({ ...input, mandates: [...(input.mandates ?? []), asMandate] });
        expect(asStepUp.outcome).toBe(mandated.outcome);
        expect(requirementValues(asStepUp.requirement)).toEqual(
          requirementValues(mandated.requirement),
        );
        expect(asStepUp.satisfiedBy).toEqual(mandated.satisfiedBy);
        expect(asStepUp.challenge).toEqual(mandated.challenge);
        expect(asStepUp.exemption?.id).toBe(mandated.exemption?.id);
        expect(asStepUp.reportOnly?.outcome).toBe(mandated.reportOnly?.outcome);
      }),
      { numRuns: 500 },
    );
  });

  it("under rules that never change, is decided afresh after a step-up that differs in one part", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        requirementSpecArb,
        requirementSpecArb,
        fc.constantFrom(...SPEC_FIELDS),
        (input, first, other, field) => {
          const second = withFieldOf(first, other, field);
          const frozen = withFrozenRules(input);
          decide({ ...frozen, stepUp: first });
          const expected = text(decide({ ...structuredClone(input), stepUp: second }));
          expect(text(decide({ ...frozen, stepUp: second }))).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  // The kept joins are found by what a step-up asks for: a list of accepted methods that merely
  // starts like a kept one is another step-up.
  it("under rules that never change, a step-up accepting more methods is not given a kept join accepting fewer", () => {
    const frozen = withFrozenRules(fixtureInput({ evidence: { events: [password(), totp()] } }));
    const narrow = decide({ ...frozen, stepUp: { acceptedMethods: ["webauthn"] } });
    expect(narrow.outcome).toBe("challenge");
    const wider = decide({ ...frozen, stepUp: { acceptedMethods: ["webauthn", "totp"] } });
    expect(wider.outcome).toBe("allow");
    expect(wider.requirement?.acceptedMethods.value).toEqual(["totp", "webauthn"]);
  });
});
