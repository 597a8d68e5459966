/**
 * Assurance-token claims pinned where a mutation survey found them unpinned. Threat: a token that
 * repeats an IdP's word for more than the decision proved.
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
  it("drops an IdP's mfa value when the decision proved one factor only", () => {
    const decision = decide({
      policy: policy("mfa_optional"),
      principal: { id: "alice", population: "sso" },
      evidence: { events: [federated({ aal: 1 })] },
    });
    expect(decision.outcome).toBe("allow");
    const built = assuranceClaims(decision, OPTIONS);
    expect(built.ok && built.claims.amr).toEqual(["pwd"]);
    expect(built.ok && built.claims.acr).toBe(REFEDS_SFA);
  });

  // The IdP's claims are kept verbatim on the receipt, but a token carries only RFC 8176 strings.
  it("keeps only the string values of an IdP's amr", () => {
    const event = { ...federated({ aal: 1 }), claims: { amr: ["pwd", 42, null] } };
    const decision = decide({
      policy: policy("mfa_optional"),
      principal: { id: "alice", population: "sso" },
      evidence: { events: [event] },
    });
    const built = assuranceClaims(decision, OPTIONS);
    expect(built.ok && built.claims.amr).toEqual(["pwd"]);
  });
});
