/**
 * Threat: an assurance token, signed by tenant-mfa, that repeats an IdP's `amr` for more than the
 * tenant's mapping credited. The IdP's values are its own statement, which the mapping reads into
 * an assurance (`aal`, `phr`); copied into the token they named `hwk` for an answer credited as
 * MFA that is not phishing-resistant, and `pwd` + `otp` (MFA, read as a pair) for one whose
 * single-factor context the mapping ranked above them. The token says what was credited: `mfa`
 * at AAL2 and above, and no method of the IdP's own; the receipt keeps the IdP's words.
 */
import { describe, expect, it } from "vitest";
import { assuranceClaims, REFEDS_SFA } from "./assurance-claims.js";
import type { AuthenticationEvent, FederatedEvent } from "./evidence.js";
import { NOW } from "./test-support/arbitraries.js";
import { decide, federated, password, policy, totp } from "./test-support/fixtures.js";
import { REFEDS_MFA } from "./vocabulary.js";

const OPTIONS = {
  issuer: "https://mfa.test",
  audience: "platform",
  now: NOW,
  lifetimeSeconds: 300,
  tokenId: "tok_1",
};

/** A sign-in at the IdP that the mapping credited with `aal` and `pr`, the IdP saying `amr`. */
const atIdp = (aal: 1 | 2, pr: boolean, amr: readonly string[]): FederatedEvent => ({
  ...federated({ aal, pr }),
  claims: { amr, acr: REFEDS_MFA, recognised: [REFEDS_MFA], unmapped: [] },
});

/** The token's claims for an SSO principal of an `mfa_optional` tenant with `events`. */
function claimsFor(...events: AuthenticationEvent[]) {
  const decision = decide({
    policy: policy("mfa_optional"),
    principal: { id: "alice", population: "sso" },
    evidence: { events },
  });
  expect(decision.outcome).toBe("allow");
  const built = assuranceClaims(decision, OPTIONS);
  if (!built.ok) throw new Error(built.code);
  return built.claims;
}

describe("the amr of a token for a proof at the tenant's IdP", () => {
  it("names no hwk for an MFA the mapping credited as not phishing-resistant", () => {
    const claims = claimsFor(atIdp(2, false, ["pwd", "hwk", "mfa"]));
    expect(claims).toMatchObject({ aal: 2, phr: false, acr: REFEDS_MFA });
    expect(claims.amr).toEqual(["mfa"]);
  });

  it("names no second factor for a sign-in the mapping credited as one factor", () => {
    // pwd + otp reads as MFA; the single-factor context beside it ranked above and decided AAL1.
    const claims = claimsFor(atIdp(1, false, ["pwd", "otp"]));
    expect(claims).toMatchObject({ aal: 1, phr: false, acr: REFEDS_SFA });
    expect(claims.amr).toEqual([]);
  });

  it("says mfa, and no key of the IdP's naming, for phishing-resistant MFA: phr says the rest", () => {
    const claims = claimsFor(atIdp(2, true, ["pwd", "hwk", "mfa"]));
    expect(claims).toMatchObject({ aal: 2, phr: true });
    expect(claims.amr).toEqual(["mfa"]);
  });

  it("names no IdP value outside RFC 8176 either (an IdP's own vocabulary means nothing here)", () => {
    const claims = claimsFor(atIdp(2, false, ["urn:okta:mfa", "phr", "mfa"]));
    expect(claims.amr).toEqual(["mfa"]);
  });

  it("still names the platform's own methods beside a first factor at the IdP", () => {
    // An IdP's one factor, then the platform's TOTP: the pair is AAL2, and only TOTP is ours.
    const decision = decide({
      policy: policy("platform_mfa"),
      principal: { id: "alice", population: "sso" },
      evidence: { events: [atIdp(1, false, ["pwd", "hwk"]), totp()] },
    });
    expect(decision.outcome).toBe("allow");
    const built = assuranceClaims(decision, OPTIONS);
    expect(built.ok && built.claims.amr).toEqual(["mfa", "otp"]);
  });

  it("is unchanged for the platform's own proofs", () => {
    const decision = decide({ evidence: { events: [password(), totp()] } });
    const built = assuranceClaims(decision, OPTIONS);
    expect(built.ok && built.claims.amr).toEqual(["mfa", "otp", "pwd"]);
  });
});
