/**
 * Assurance-token claims pinned where a mutation survey found them unpinned. Threat: a token that
 * repeats an IdP's word for more than the decision proved (assurance-claims.federated-amr.test.ts
 * has the rest: a token names no method of an IdP's).
 */
import { describe, expect, it } from "vitest";
import { assuranceClaims, REFEDS_SFA } from "./assurance-claims.js";
import { NOW } from "./test-support/arbitraries.js";
import { decide, federated, policy } from "./test-support/fixtures.js";

const OPTIONS = {
  issuer: "https://mfa.test",
  audience: "platform",
  now: NOW,
  lifetimeSeconds: 300,
  tokenId: "tok_1",
};

describe("the amr of a token", () => {
  // The IdP said `mfa`, but the tenant's mapping granted one factor: the token says one factor.
  it("names no mfa when the decision proved one factor only, whatever the IdP said", () => {
    const decision = decide({
      policy: policy("mfa_optional"),
      principal: { id: "alice", population: "sso" },
      evidence: { events: [federated({ aal: 1 })] },
    });
    expect(decision.outcome).toBe("allow");
    const built = assuranceClaims(decision, OPTIONS);
    expect(built.ok && built.claims.amr).toEqual([]);
    expect(built.ok && built.claims.acr).toBe(REFEDS_SFA);
  });

  // The IdP's claims are kept verbatim on the receipt; the token takes none of them, of any type.
  it("takes nothing from an IdP's amr, strings or not", () => {
    const event = { ...federated({ aal: 1 }), claims: { amr: ["pwd", 42, null, "hwk"] } };
    const decision = decide({
      policy: policy("mfa_optional"),
      principal: { id: "alice", population: "sso" },
      evidence: { events: [event] },
    });
    const built = assuranceClaims(decision, OPTIONS);
    expect(built.ok && built.claims.amr).toEqual([]);
  });
});
