/**
 * IdP claims mapping pinned where a mutation survey found it unpinned. Threat: an IdP's `amr`
 * value that proves possession of something, not a key bound to the origin, read as phishing
 * resistance.
 */
import { describe, expect, it } from "vitest";
import { assessIdpClaims, DEFAULT_IDP_ASSURANCE_MAPPING as DEFAULTS } from "./idp-assurance.js";
import { REFEDS_MFA } from "./vocabulary.js";

describe("an MFA context beside amr values", () => {
  it("is not made phishing-resistant by a possession factor the mapping does not hold resistant", () => {
    for (const amr of ["otp", "sms", "swk"]) {
      const assessed = assessIdpClaims(DEFAULTS, { contexts: [REFEDS_MFA], amr: ["pwd", amr] });
      expect(assessed.assurance, amr).toEqual({ aal: 2, phishingResistant: false });
      expect(assessed.recognised).toEqual([REFEDS_MFA]);
    }
  });

  it("is made phishing-resistant by a value the mapping holds resistant", () => {
    const assessed = assessIdpClaims(DEFAULTS, { contexts: [REFEDS_MFA], amr: ["hwk"] });
    expect(assessed.assurance).toEqual({ aal: 2, phishingResistant: true });
    expect(assessed.recognised).toEqual([REFEDS_MFA, "hwk"]);
  });
});
