/**
 * The engine keeps what it prepares from immutable rules (deeply frozen policies and mandates)
 * and from the kinds of step-up it has seen, and shares frozen parts between decisions.
 * Threat: a kept preparation or a shared part goes stale or is poisoned, so that a decision
 * differs from what the same input decides afresh: a caller that changes its own (mutable)
 * policy, mandates or step-up after a decision, or that changes a decision it was given, must
 * never change a later decision.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Decision } from "./decision.js";
import { evaluate } from "./evaluate.js";
import type { EvaluationInput } from "./input.js";
import type { PlatformMandate, RequirementSpec, TenantPolicy } from "./policy.js";
import {
  NOW,
  evaluationInputArb,
  requirementSpecArb,
  tenantPolicyArb,
} from "./test-support/arbitraries.js";
import { withFrozenRules } from "./test-support/frozen-rules.js";

const decide = (input: EvaluationInput): Decision => evaluate(input, { now: NOW, id: "d" });
const text = (decision: Decision): string => JSON.stringify(decision);

describe("prepared rules", () => {
  // 500 inputs, each decided four times: 2–3 s alone, and past Vitest's default 5 s on a machine
  // loaded to 12 (seen once). The work is fixed, so a longer limit hides no hang.
  it(
    "frozen and mutable rules decide the same, the first time and every time after",
    { timeout: 30_000 },
    () => {
      fc.assert(
        fc.property(evaluationInputArb(), (input) => {
          const expected = text(decide(structuredClone(input)));
          const frozen = withFrozenRules(input);
          expect(text(decide(frozen))).toBe(expected);
          expect(text(decide(frozen))).toBe(expected);
          expect(text(decide(input))).toBe(expected);
        }),
        { numRuns: 500 },
      );
    },
  );

  it("a change to a mutable policy after a decision is seen by the next decision", () => {
    fc.assert(
      fc.property(evaluationInputArb(), tenantPolicyArb, (input, replacement) => {
        const policy: Record<string, unknown> = structuredClone(input.policy) as never;
        const mutable = { ...input, policy: policy as unknown as TenantPolicy };
        decide(mutable);
        for (const key of Object.keys(policy)) Reflect.deleteProperty(policy, key);
        Object.assign(policy, structuredClone(replacement));
        const expected = text(decide({ ...input, policy: structuredClone(replacement) }));
        expect(text(decide(mutable))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("a change to a mutable mandate after a decision is seen by the next decision", () => {
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const mandates = (input.mandates ?? []).map((m) => structuredClone(m));
        const first = mandates[0];
        if (first === undefined) return;
        const mutable = { ...input, mandates };
        decide(mutable);
        (first as { -readonly [K in keyof PlatformMandate]: PlatformMandate[K] }).require = {
          minAal: 3,
          acceptedMethods: ["webauthn"],
        };
        expect(text(decide(mutable))).toBe(text(decide(structuredClone(mutable))));
      }),
      { numRuns: 300 },
    );
  });

  it("a step-up changed by its caller after a decision is read afresh", () => {
    fc.assert(
      fc.property(
        evaluationInputArb(),
        requirementSpecArb,
        requirementSpecArb,
        (input, before, after) => {
          const frozen = withFrozenRules(input);
          const stepUp: Record<string, unknown> = structuredClone(before) as never;
          const asked = { ...frozen, stepUp: stepUp as RequirementSpec };
          decide(asked);
          for (const key of Object.keys(stepUp)) Reflect.deleteProperty(stepUp, key);
          Object.assign(stepUp, structuredClone(after));
          const expected = text(decide({ ...structuredClone(input), stepUp: after }));
          expect(text(decide(asked))).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a decision's shared parts are frozen, so one caller cannot change another's decision", () => {
    fc.assert(
      fc.property(evaluationInputArb(), (input) => {
        const frozen = withFrozenRules(input);
        const first = decide(frozen);
        const expected = text(decide(frozen));
        // What a careless caller might try on the decision it was given.
        const attempts: (() => void)[] = [
          () => (first.reasons as unknown[]).push("x"),
          () => (first.challenge as unknown[]).push("x"),
          () => (first.versions.mandates as unknown[]).push("x"),
          () => ((first.requirement?.acceptedMethods.value ?? []) as unknown[]).push("x"),
          () => ((first.requirement?.minAal.from ?? []) as unknown[]).push("x"),
        ];
        for (const attempt of attempts) {
          try {
            attempt();
          } catch {
            // Frozen: refused, as it should be.
          }
        }
        expect(text(decide(frozen))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
