import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import { prepareRules } from "./prepared-rules.js";
import {
  NOW,
  NOW_MS,
  PRINCIPAL,
  TENANT,
  at,
  evaluationInputArb,
  mandatesArb,
  populationArb,
  riskLevelArb,
  tenantPolicyArb,
  usableExemptionArb,
} from "./test-support/arbitraries.js";

const rulesOf = (input: { policy: unknown; mandates?: Parameters<typeof prepareRules>[2] }) => {
  const rules = prepareRules(TENANT, input.policy, input.mandates ?? []);
  if (typeof rules === "string") throw new Error(rules);
  return rules;
};

// Threat: the compliance report calls an exemption in force while a mandate that no exemption
// excuses still binds its principal. Read apart from the engine's own rule, the report would name
// mandates the engine does not hold an exempted sign-in to, or miss one that it does.
describe("the mandates no exemption excuses", () => {
  it("are the non-exemptible mandates the engine applies to the sign-in", () => {
    fc.assert(
      fc.property(evaluationInputArb({ population: populationArb }), (input) => {
        const decision = evaluate(input, { now: NOW });
        const codes = decision.reasons.map((r) => r.code);
        fc.pre(!codes.includes("input.invalid") && !codes.includes("policy.invalid"));
        // A token integration is decided outside MFA: no rule is applied, none is excused.
        fc.pre(!codes.includes("population.integration_token"));
        const ids = (input.mandates ?? []).map((m) => m.id);
        fc.pre(new Set(ids).size === ids.length);
        const exemptible = new Map((input.mandates ?? []).map((m) => [m.id, m.exemptible]));
        const applied = decision.versions.mandates
          .map((m) => m.id)
          .filter((id) => exemptible.get(id) === false);
        expect(rulesOf(input).notExemptibleMandates(input.principal.population, NOW_MS)).toEqual(
          applied,
        );
        // What the engine says an exemption could not cover names one of them.
        for (const reason of decision.reasons)
          if (reason.code === "exemption.not_exemptible" && reason.rule?.kind === "mandate")
            expect(applied).toContain(reason.rule.id);
      }),
      { numRuns: 1000 },
    );
  });

  it("leave nothing unexcused when there are none: a usable exemption then lets a password sign-in through", () => {
    fc.assert(
      fc.property(
        tenantPolicyArb,
        mandatesArb,
        populationArb.filter((p) => p !== "guest"),
        usableExemptionArb,
        fc.option(riskLevelArb, { nil: undefined }),
        (policy, mandates, population, exemption, risk) => {
          const input = {
            tenant: TENANT,
            policy,
            mandates,
            principal: { id: PRINCIPAL, population },
            evidence: {
              events: [{ method: "password" as const, source: "platform" as const, at: at(0) }],
            },
            exemptions: [exemption],
            ...(risk === undefined ? {} : { risk }),
          };
          const decision = evaluate(input, { now: NOW });
          const unexcused = rulesOf(input).notExemptibleMandates(population, NOW_MS);
          if (unexcused.length === 0) expect(decision.outcome).toBe("allow");
          else if (decision.outcome !== "allow")
            expect(decision.reasons.map((r) => r.code)).toContain("exemption.not_exemptible");
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("are none for a guest, whom no rule reaches", () => {
    fc.assert(
      fc.property(tenantPolicyArb, mandatesArb, (policy, mandates) => {
        expect(rulesOf({ policy, mandates }).notExemptibleMandates("guest", NOW_MS)).toEqual([]);
      }),
    );
  });
});
