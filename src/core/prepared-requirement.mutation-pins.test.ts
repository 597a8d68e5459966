/**
 * Whether any evidence could ever meet a requirement, and the rule a conflict names, pinned where
 * a mutation survey found them unpinned. A requirement that nothing can meet is a conflict
 * between rules (deny with `requirement.conflict`, naming a rule to fix), not a user who merely
 * lacks an authenticator (`challenge.unavailable`).
 */
import { describe, expect, it } from "vitest";
import type { RequirementSpec } from "./policy.js";
import {
  codes,
  decide,
  federated,
  mandate,
  password,
  policy,
  totp,
  webauthn,
} from "./test-support/fixtures.js";

describe("requirements no evidence can meet", () => {
  const impossible: [string, RequirementSpec][] = [
    ["TOTP or recovery codes at AAL3", { minAal: 3, acceptedMethods: ["totp", "recovery_code"] }],
    ["TOTP, phishing-resistant", { phishingResistant: true, acceptedMethods: ["totp"] }],
    ["a password alone at AAL2", { minAal: 2, acceptedMethods: ["password"] }],
    [
      "federated proof from the platform",
      { proofSource: "platform", acceptedMethods: ["federated"] },
    ],
    ["WebAuthn proof from the IdP", { proofSource: "idp", acceptedMethods: ["webauthn"] }],
  ];
  it.each(impossible)("%s is a conflict", (_name, require) => {
    const d = decide({
      policy: policy("mfa_optional"),
      mandates: [mandate("impossible", require)],
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("deny");
    expect(codes(d)).toContain("requirement.conflict");
    expect(codes(d)).not.toContain("challenge.unavailable");
  });

  const possible: [string, RequirementSpec][] = [
    ["TOTP at AAL2", { minAal: 2, acceptedMethods: ["totp"] }],
    ["a password alone at AAL1", { minAal: 1, acceptedMethods: ["password"] }],
    ["federated proof from the IdP at AAL3", { minAal: 3, acceptedMethods: ["federated"] }],
  ];
  it.each(possible)("%s is no conflict", (_name, require) => {
    const d = decide({ policy: policy("mfa_optional"), mandates: [mandate("possible", require)] });
    expect(codes(d)).not.toContain("requirement.conflict");
  });

  // The conflict names the first rule that narrowed the proof source: the one to look at.
  it("a conflict of proof sources names the first rule that narrowed the source", () => {
    const d = decide({
      policy: policy("mfa_optional"),
      mandates: [
        mandate("idp-only", { proofSource: "idp" }),
        mandate("local", { proofSource: "platform" }),
      ],
    });
    expect(d.outcome).toBe("deny");
    expect(d.reasons).toEqual([
      expect.objectContaining({
        code: "requirement.conflict",
        rule: { kind: "mandate", id: "idp-only", version: 1 },
      }),
    ]);
  });
});

describe("the maximum age in milliseconds", () => {
  it("challenges one millisecond past the maximum age", () => {
    const d = decide({
      policy: policy("platform_mfa", { require: { maxAgeSeconds: 300 } }),
      evidence: { events: [password(600), totp(300.001)] },
    });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toEqual(["freshness.max_age_exceeded"]);
  });
});

describe("why the evidence falls short", () => {
  it("no evidence at all says so", () => {
    const d = decide({ evidence: { events: [] } });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toEqual(["evidence.none"]);
  });

  it("strong enough evidence of an accepted method from a source not accepted names the source", () => {
    const d = decide({
      policy: policy("idp_or_platform"),
      mandates: [mandate("idp-only", { proofSource: "idp" })],
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.reasons[0]).toMatchObject({
      code: "requirement.unmet.proof_source",
      rule: { kind: "mandate", id: "idp-only" },
    });
  });

  it("strong enough evidence of a method not accepted names the method", () => {
    const d = decide({
      mandates: [mandate("keys-only", { acceptedMethods: ["webauthn"] })],
      evidence: { events: [password(), totp()] },
    });
    expect(d.outcome).toBe("challenge");
    expect(d.reasons[0]).toMatchObject({
      code: "requirement.unmet.method",
      rule: { kind: "mandate", id: "keys-only" },
    });
  });

  it("a key that did not verify the user, where verification is required, names user verification", () => {
    const d = decide({
      policy: policy("phishing_resistant"),
      evidence: { events: [password(), webauthn({ uv: false })] },
    });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toEqual(["requirement.unmet.user_verification"]);
  });

  // One assurance reaches the AAL without phishing resistance, another is phishing-resistant
  // below the AAL: no single gap is missing everywhere, so the AAL is named, as AAL3 (a hardware
  // key), not as the missing second factor that `requirement.unmet.aal` tells the user of.
  it("names the AAL, as AAL3, when each assurance misses on a different part", () => {
    const d = decide({
      policy: policy("mfa_optional"),
      mandates: [mandate("aal3-pr", { minAal: 3, phishingResistant: true })],
      evidence: { events: [federated({ aal: 3, pr: false }), webauthn({ be: true })] },
    });
    expect(d.outcome).not.toBe("allow");
    expect(codes(d).filter((code) => code.startsWith("requirement.unmet."))).toEqual([
      "requirement.unmet.aal3",
    ]);
  });
});
