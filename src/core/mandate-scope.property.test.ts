import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import { mandateEscapedByMove, mandatesBinding, unexemptibleMandatesFor } from "./mandate-scope.js";
import { parseTime } from "./time.js";
import {
  NOW,
  NOW_MS,
  TENANT,
  evaluationInputArb,
  mandatesArb,
  populationArb,
} from "./test-support/arbitraries.js";
import type { Population } from "./vocabulary.js";

const activeNow = (m: { activeFrom?: string }) => (parseTime(m.activeFrom) ?? -Infinity) <= NOW_MS;

// Threat: the service refuses to move a principal out of a mandate's reach by its own reading
// of the mandate's scope. Read differently from the engine's, it would let a move through that
// escapes a mandate the engine applies, or lock one the engine would not.
describe("mandate scope: who a mandate binds", () => {
  it("agrees with the engine on the mandates that bind a sign-in now", () => {
    fc.assert(
      fc.property(
        evaluationInputArb({
          population: fc.constantFrom<Population>("direct", "sso", "api_human", "integration"),
        }),
        (input) => {
          const decision = evaluate(input, { now: NOW });
          fc.pre(
            !decision.reasons.some(
              (r) => r.code === "input.invalid" || r.code === "policy.invalid",
            ),
          );
          // An integration with a token grant is out of every rule; one signing in with a
          // password is held to MFA as a person, by the mandates of both populations.
          fc.pre(decision.reasons.every((r) => r.code !== "population.integration_token"));
          const ids = (input.mandates ?? []).map((m) => m.id);
          fc.pre(new Set(ids).size === ids.length);
          const applied = new Set(decision.versions.mandates.map((m) => m.id));
          const binding = mandatesBinding(
            input.mandates ?? [],
            TENANT,
            input.principal.population,
            NOW_MS,
          ).filter(activeNow);
          for (const m of binding) expect(applied.has(m.id)).toBe(true);
          for (const m of input.mandates ?? [])
            if (applied.has(m.id) && activeNow(m))
              expect(binding.some((b) => b.id === m.id)).toBe(true);
          const unexemptible = unexemptibleMandatesFor(
            input.mandates ?? [],
            TENANT,
            input.principal.population,
            NOW_MS,
          ).filter(activeNow);
          expect(unexemptible).toEqual(binding.filter((m) => !m.exemptible));
        },
      ),
      { numRuns: 1000 },
    );
  });

  // Exemptible or not, for a principal moved; only unexemptible ones for one never registered.
  it("finds an escape exactly when a mandate binding the old population misses the new", () => {
    const outOfPolicy = (p: Population) => p === "guest" || p === "integration";
    fc.assert(
      fc.property(
        mandatesArb,
        fc.option(populationArb, { nil: undefined }),
        populationArb,
        (mandates, from, to) => {
          const escaped = mandateEscapedByMove(mandates, TENANT, from, to, NOW_MS);
          const binding = (p: Population) => mandatesBinding(mandates, TENANT, p, NOW_MS);
          const unexemptible = (p: Population) =>
            unexemptibleMandatesFor(mandates, TENANT, p, NOW_MS);
          const after = outOfPolicy(to) ? [] : binding(to);
          // Never registered: it may have been decided as any person.
          const before =
            from !== undefined
              ? binding(from)
              : (["direct", "sso", "api_human"] as const).flatMap(unexemptible);
          expect(escaped !== undefined).toBe(before.some((m) => !after.includes(m)));
          if (outOfPolicy(to)) expect(escaped !== undefined).toBe(before.length > 0);
          if (from === to && !outOfPolicy(to)) expect(escaped).toBeUndefined();
        },
      ),
      { numRuns: 2000 },
    );
  });
});
