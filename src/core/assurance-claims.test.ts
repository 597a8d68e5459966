import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assuranceClaims, REFEDS_SFA } from "./assurance-claims.js";
import { evaluate } from "./evaluate.js";
import { NOW, evaluationInputArb } from "./test-support/arbitraries.js";
import { ago, decide, exemption, password, webauthn } from "./test-support/fixtures.js";
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
        // The exemption behind an allow may end within the second: no token then.
        const exemptionEnds =
          decision.exemption === null
            ? Infinity
            : Math.floor(Date.parse(decision.exemption.expiresAt) / 1000);
        const proved = decision.satisfiedBy;
        // An allow that no authentication satisfied (an integration's token grant) vouches for none.
        if (proved === null) {
          expect(built).toEqual({ ok: false, code: "decision_without_proof" });
          return;
        }
        if (!built.ok) {
          expect(built.code).toBe("exemption_expired");
          expect(exemptionEnds).toBeLessThanOrEqual(Math.floor(NOW.getTime() / 1000));
          return;
        }
        const { claims } = built;
        expect(claims.aal).toBe(proved.aal);
        expect(claims.phr).toBe(proved.phishingResistant);
        expect(claims.acr).toBe(claims.aal >= 2 ? REFEDS_MFA : REFEDS_SFA);
        expect(claims.amr.includes("mfa")).toBe(claims.aal >= 2);
        expect(claims.sub).toBe(decision.principal.id);
        expect(claims.tenant).toBe(decision.tenant);
        expect(claims.decision).toBe("dec_1");
        // A token lives its lifetime, or less when the exemption behind it ends sooner.
        expect(claims.exp - claims.iat).toBe(Math.min(300, exemptionEnds - claims.iat));
        expect(claims.exp).toBeGreaterThan(claims.iat);
        // When the proving step happened; one inside the clock skew may lie ahead of now, and
        // the token never says so.
        expect(claims.auth_time).toBe(
          Math.min(claims.iat, Math.floor(Date.parse(proved.provenAt) / 1000)),
        );
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

  it("says `hwk` only for a key an attestation proved hardware, `pop` for one nothing proved", () => {
    const amrOf = (attested: boolean | undefined) => {
      const built = assuranceClaims(
        decide({ evidence: { events: [password(), webauthn({ be: false, attested })] } }),
        options,
      );
      return built.ok ? [built.claims.amr, built.claims.aal] : built.code;
    };
    expect([amrOf(true), amrOf(false), amrOf(undefined)]).toEqual([
      [["hwk", "mfa"], 3],
      [["mfa", "pop"], 2],
      [["mfa", "pop"], 2],
    ]);
  });

  // Threat: a token that vouches for an authentication no one did: its `auth_time` would be made
  // up (the instant of issue) and its `acr` would say single-factor authentication happened.
  it("is not issued for an allow that no authentication satisfied (an integration's token grant)", () => {
    const decision = decide({
      principal: { id: "ci-bot", population: "integration" },
      evidence: { events: [], grant: "client_credentials" },
    });
    expect(decision).toMatchObject({ outcome: "allow", satisfiedBy: null });
    expect(assuranceClaims(decision, options)).toEqual({
      ok: false,
      code: "decision_without_proof",
    });
  });

  // Threat: a break-glass exemption ends, yet the sign-in it let through keeps a token that the
  // platform accepts after the end (and a code exchanged late gets a fresh one).
  describe("a token earned through an exemption", () => {
    const exempted = (expiresAt: string) =>
      decide({ exemptions: [exemption({ expiresAt })], evidence: { events: [password()] } });

    it("expires when the exemption does, if that is sooner than its lifetime", () => {
      const decision = exempted(ago(-120));
      expect(decision.exemption?.id).toBe("ex-1");
      const built = assuranceClaims(decision, options);
      if (!built.ok) throw new Error(built.code);
      const ends = Math.floor(Date.parse(ago(-120)) / 1000);
      expect(built.claims.exp).toBe(ends);
      expect(built.claims.exemption).toEqual({ id: "ex-1", expires_at: ends });
    });

    it("keeps its own lifetime when the exemption outlasts it", () => {
      const built = assuranceClaims(exempted(ago(-3600)), options);
      if (!built.ok) throw new Error(built.code);
      expect(built.claims.exp - built.claims.iat).toBe(300);
    });

    it("is not issued once the exemption has ended, nor at its last instant", () => {
      const decision = exempted(ago(-120));
      const at = (secondsAfterNow: number) => ({
        ...options,
        now: new Date(NOW.getTime() + secondsAfterNow * 1000),
      });
      expect(assuranceClaims(decision, at(119)).ok).toBe(true);
      expect(assuranceClaims(decision, at(120))).toEqual({ ok: false, code: "exemption_expired" });
      expect(assuranceClaims(decision, at(3600))).toEqual({ ok: false, code: "exemption_expired" });
    });
  });
});
