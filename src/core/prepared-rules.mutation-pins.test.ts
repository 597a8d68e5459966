/**
 * What the engine keeps from rules that can never change (deeply frozen, as the service's rule
 * cache hands them out), pinned where a mutation survey found it unpinned. Threat: a kept
 * preparation handed to a sign-in it was not made for (another risk level, another set of
 * applicable mandates, another tenant), so that the sign-in is decided under the wrong rules.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Decision } from "./decision.js";
import { evaluate } from "./evaluate.js";
import { deepFreeze, type EvaluationInput } from "./input.js";
import type { PlatformMandate } from "./policy.js";
import type { Posture, RiskLevel } from "./vocabulary.js";
import {
  NOW,
  evaluationInputArb,
  omit,
  platformMandateArb,
  populationArb,
  riskLevelArb,
} from "./test-support/arbitraries.js";
import { withFrozenRules } from "./test-support/frozen-rules.js";
import {
  codes,
  exemption,
  input as fixtureInput,
  mandate,
  password,
  policy,
  totp,
} from "./test-support/fixtures.js";

const decide = (input: EvaluationInput): Decision => evaluate(input, { now: NOW, id: "d" });
const text = (decision: Decision): string => JSON.stringify(decision);

/** The input at `risk`, or with no risk level. */
const atRisk = (input: EvaluationInput, risk: RiskLevel | undefined): EvaluationInput =>
  risk === undefined ? omit(input, "risk") : { ...input, risk };

describe("kept preparations of immutable rules", () => {
  it("a sign-in at another risk level (or none) is decided as afresh", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        fc.option(riskLevelArb, { nil: undefined }),
        fc.option(riskLevelArb, { nil: undefined }),
        (input, before, after) => {
          const frozen = withFrozenRules(input);
          decide(atRisk(frozen, before));
          const expected = text(decide(atRisk(structuredClone(input), after)));
          expect(text(decide(atRisk(frozen, after)))).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a sign-in of another population, meeting other mandates, is decided as afresh", () => {
    fc.assert(
      fc.property(
        evaluationInputArb({
          mandates: fc.array(platformMandateArb, { minLength: 2, maxLength: 4 }),
        }),
        populationArb,
        (input, other) => {
          const frozen = withFrozenRules(input);
          decide(frozen);
          const principal = { ...input.principal, population: other };
          const expected = text(decide({ ...structuredClone(input), principal }));
          expect(text(decide({ ...frozen, principal }))).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("two frozen mandates scoped to different populations each bind only their own", () => {
    const rules = withFrozenRules(
      fixtureInput({
        policy: policy("mfa_optional"),
        mandates: [
          mandate(
            "direct-uplift",
            { minAal: 2 },
            { scope: { tenants: "all", populations: ["direct"] } },
          ),
          mandate("sso-uplift", { minAal: 3 }, { scope: { tenants: "all", populations: ["sso"] } }),
        ],
      }),
    );
    const direct = decide(rules);
    const sso = decide({ ...rules, principal: { id: "alice", population: "sso" } });
    expect(direct.versions.mandates).toEqual([{ id: "direct-uplift", version: 1 }]);
    expect(sso.versions.mandates).toEqual([{ id: "sso-uplift", version: 1 }]);
    expect(sso.requirement?.minAal.value).toBe(3);
  });

  it("a frozen policy decided without mandates is not reused when a mandate joins it", () => {
    const frozenPolicy = deepFreeze(policy("mfa_optional"));
    const uplift: PlatformMandate = deepFreeze(mandate("uplift", { minAal: 2 }));
    const events = { events: [password()] };
    expect(decide(fixtureInput({ policy: frozenPolicy, evidence: events })).outcome).toBe("allow");
    const d = decide(fixtureInput({ policy: frozenPolicy, mandates: [uplift], evidence: events }));
    expect(d.outcome).toBe("challenge");
    expect(d.versions.mandates).toEqual([{ id: "uplift", version: 1 }]);
  });

  // A policy is its tenant's: prepared once for acme, it must still be refused for globex.
  it("a frozen policy prepared for its tenant is refused for another tenant", () => {
    const frozenPolicy = deepFreeze(policy("mfa_optional"));
    const evidence = { events: [password(), totp()] };
    expect(decide(fixtureInput({ policy: frozenPolicy, evidence })).outcome).toBe("allow");
    const d = decide(fixtureInput({ tenant: "globex", policy: frozenPolicy, evidence }));
    expect(d.outcome).toBe("deny");
    expect(codes(d)).toEqual(["policy.invalid"]);
  });

  // Only rules that are all immutable are kept: a frozen policy beside a mandate its caller may
  // still change is prepared afresh each time.
  it("a mutable mandate beside a frozen policy, changed after a decision, is read afresh", () => {
    const frozenPolicy = deepFreeze(policy("mfa_optional"));
    const uplift = { ...mandate("uplift", {}) };
    const signIn = fixtureInput({ policy: frozenPolicy, mandates: [uplift] });
    expect(decide(signIn).outcome).toBe("allow");
    (uplift as { require: PlatformMandate["require"] }).require = { minAal: 2 };
    expect(decide(signIn).outcome).toBe("challenge");
  });

  // Freezing only the top of a policy leaves its parts open to change: such a policy is not
  // kept, so a change to its requirement is seen by the next decision.
  it("a policy frozen only at its top, whose requirement changes after a decision, is read afresh", () => {
    const require: { minAal?: 1 | 2 } = { minAal: 1 };
    const shallow = Object.freeze({ ...policy("mfa_optional"), require });
    const signIn = fixtureInput({ policy: shallow });
    expect(decide(signIn).outcome).toBe("allow");
    require.minAal = 2;
    expect(decide(signIn).outcome).toBe("challenge");
  });
});

// Threat: the engine checks a frozen rule once and keeps what it prepared from it. An object that
// reads as both a policy and a mandate, checked and prepared as one, must still be checked and
// prepared as the other when it comes as that: a mandate whose `exemptible` is no boolean is
// refused, and a policy keeps its posture's requirement.
describe("an object met both as a policy and as a mandate", () => {
  const exemptions = [exemption({ category: "temporary_access" })];
  const bothWays = (posture: Posture, extra: object) =>
    deepFreeze({
      ...policy(posture),
      ...mandate("both", { minAal: 2, phishingResistant: true }),
      ...extra,
    });

  it("a mandate whose exemptible is not a boolean is refused after it was read as a policy", () => {
    const both = bothWays("mfa_optional", { exemptible: "no" });
    decide(fixtureInput({ policy: both }));
    const d = decide(
      fixtureInput({
        policy: deepFreeze(policy("mfa_optional", { version: 2 })),
        mandates: [both],
        exemptions,
      }),
    );
    expect(d.outcome).toBe("deny");
    expect(codes(d)).toEqual(["policy.invalid"]);
  });

  it("a policy read after it served as a mandate keeps its posture's requirement", () => {
    const both = bothWays("phishing_resistant", { require: {} });
    const evidence = { events: [password(), totp()] };
    decide(
      fixtureInput({
        policy: deepFreeze(policy("mfa_optional", { version: 2 })),
        mandates: [both],
        evidence,
      }),
    );
    const d = decide(fixtureInput({ policy: both, evidence }));
    expect(d.outcome).toBe("challenge");
    expect(d.requirement?.phishingResistant.value).toBe(true);
  });
});

/**
 * Writes junk over every property of every object in `value` that is not frozen, children first,
 * as a caller that edits a decision in place (to translate its messages, say) would.
 */
function scribble(value: unknown, seen = new Set<object>()): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  for (const child of Object.values(value)) scribble(child, seen);
  if (Object.isFrozen(value)) return;
  for (const key of Object.keys(value)) {
    try {
      (value as Record<string, unknown>)[key] = Array.isArray(value) ? "junk" : "requirement.met";
    } catch {
      // A read-only property: left as it is.
    }
  }
}

// Threat: decisions over kept rules share what they have in common (reasons, requirements, the
// rules they name). A caller that edits one decision it was given must not edit the next ones:
// another principal would be told another decision's reasons, or a receipt would record them.
describe("what decisions over kept rules share", () => {
  it("a caller that edits a decision in place never changes a later decision", () => {
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const frozen = withFrozenRules(input);
        // The request parts are the caller's own, fresh each time; the rules are the kept ones.
        const signIn = (): EvaluationInput => ({
          ...structuredClone(input),
          policy: frozen.policy,
          ...(frozen.mandates === undefined ? {} : { mandates: frozen.mandates }),
        });
        const expected = text(decide(signIn()));
        scribble(decide(signIn()));
        expect(text(decide(signIn()))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
