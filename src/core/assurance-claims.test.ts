import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assuranceClaims, REFEDS_SFA } from "./assurance-claims.js";
import { evaluate } from "./evaluate.js";
import { NOW, evaluationInputArb } from "./test-support/arbitraries.js";
import { decide, password, webauthn } from "./test-support/fixtures.js";
import { REFEDS_MFA } from "./vocabulary.js";

const options = {
  issuer: "https://mfa.test",
  audience: "platform",
  now: NOW,
  lifetimeSeconds: 300,
  tokenId: "tok_1",
};

// Threat: a token that claims more than the decision proved, or any token for a sign-in that
// was not allowed. The claims are derived from the decision alone, for every input.
describe("assurance-token claims", () => {
  it("exist only for an allowed, stored decision, and never claim more than it proved", () => {
    fc.assert(
      fc.property(evaluationInputArb(), fc.boolean(), (input, stored) => {
        const decision = evaluate(input, { now: NOW, ...(stored ? { id: "dec_1" } : {}) });
        const built = assuranceClaims(decision, options);
        if (decision.outcome !== "allow" || !stored) {
          expect(built.ok).toBe(false);
          return;
        }
        if (!built.ok) throw new Error(`no claims for an allowed decision: ${built.code}`);
        const { claims } = built;
        const proved = decision.satisfiedBy;
        expect(claims.aal).toBe(proved?.aal ?? 0);
        expect(claims.phr).toBe(proved?.phishingResistant ?? false);
        expect(claims.acr).toBe(claims.aal >= 2 ? REFEDS_MFA : REFEDS_SFA);
        expect(claims.amr.includes("mfa")).toBe(claims.aal >= 2);
        expect(claims.sub).toBe(decision.principal.id);
        expect(claims.tenant).toBe(decision.tenant);
        expect(claims.decision).toBe("dec_1");
        expect(claims.exp - claims.iat).toBe(300);
        // An event inside the clock skew may lie ahead of now; the token never says so.
        expect(claims.auth_time).toBeLessThanOrEqual(claims.iat);
        expect(claims.policy_versions.tenant_policy).toBe(decision.versions.tenantPolicy);
      }),
      { numRuns: 2000 },
    );
  });

  it("names the satisfying methods in RFC 8176 terms: a synced passkey is a software key", () => {
    const decision = decide({
      evidence: { events: [password(), webauthn({ be: true })] },
    });
    const built = assuranceClaims(decision, options);
    expect(built).toMatchObject({
      ok: true,
      claims: { amr: ["mfa", "swk"], aal: 2, phr: true, acr: REFEDS_MFA, decision: "dec-1" },
    });
  });
});
