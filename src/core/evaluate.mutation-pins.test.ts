/**
 * Rules of evaluate() that a mutation survey found unpinned: each test here fails when the rule
 * it names is removed or weakened (the survey's table is in the commit that added them).
 */
import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import {
  NOW,
  codes,
  decide,
  exemption,
  input,
  mandate,
  password,
  policy,
  totp,
  ago,
} from "./test-support/fixtures.js";

describe("the clock skew option", () => {
  // A negative skew would silently ignore events of the last moments: a caller's mistake that
  // must be refused like any other unreadable option, not read as a stricter policy.
  it("a negative clockSkewSeconds is refused as invalid input", () => {
    const d = evaluate(input({ evidence: { events: [password(), totp()] } }), {
      now: NOW,
      clockSkewSeconds: -1,
    });
    expect(d.outcome).toBe("deny");
    expect(codes(d)).toEqual(["input.invalid"]);
  });

  it("a clockSkewSeconds of zero is accepted", () => {
    const d = evaluate(input({ evidence: { events: [password(), totp(0)] } }), {
      now: NOW,
      clockSkewSeconds: 0,
    });
    expect(d.outcome).toBe("allow");
  });
});

describe("the mandate override note", () => {
  // policy.overridden_by_mandate tells an mfa_optional tenant that a mandate raised it to MFA.
  // A tenant that asks for MFA itself was not overridden, even when a mandate asks the same.
  it("is not given to a platform_mfa tenant under a mandate asking the same AAL", () => {
    const d = decide({
      mandates: [mandate("mfa-for-all", { minAal: 2 })],
      evidence: { events: [password()] },
    });
    expect(d.requirement?.minAal.from).toContainEqual({
      kind: "mandate",
      id: "mfa-for-all",
      version: 1,
    });
    expect(codes(d)).not.toContain("policy.overridden_by_mandate");
  });
});

describe("report-only records what enforcement would require", () => {
  // The receipt of a report-only decision must say what the tenant's policy will require once
  // enforced, not what was enforced meanwhile (the mandates alone).
  it("reportOnly.requirement is the tenant's full requirement", () => {
    const d = decide({
      policy: policy("phishing_resistant", { enforcementStartsAt: ago(-86400) }),
      evidence: { events: [password(), totp()] },
    });
    expect(d.mode).toBe("report_only");
    expect(d.requirement?.phishingResistant.value).toBe(false);
    expect(d.reportOnly?.requirement?.phishingResistant.value).toBe(true);
    expect(d.reportOnly?.requirement?.acceptedMethods.value).toEqual(["webauthn"]);
    expect(d.reportOnly?.outcome).toBe("challenge");
    expect(d.reportOnly?.challenge.length).toBeGreaterThan(0);
  });
});

describe("exemptions and exemptible mandates", () => {
  // A mandate marked exemptible is excused by a valid exemption like the tenant's own
  // requirement is (DESIGN: only mandates marked not exemptible cannot be exempted).
  it("an exemption excuses an exemptible mandate, and names it in what it excused", () => {
    const d = decide({
      policy: policy("mfa_optional"),
      mandates: [mandate("uplift", { minAal: 2, phishingResistant: true }, { exemptible: true })],
      exemptions: [exemption()],
      evidence: { events: [password()] },
    });
    expect(d.outcome).toBe("allow");
    expect(d.exemption?.id).toBe("ex-1");
    expect(d.exemption?.excused.phishingResistant.from).toContainEqual({
      kind: "mandate",
      id: "uplift",
      version: 1,
    });
    expect(d.requirement?.phishingResistant.value).toBe(false);
    expect(codes(d)).toEqual(["exemption.break_glass"]);
  });
});

describe("the risk note", () => {
  // risk.elevated says that risk rules raised the requirement, whichever rule set holds them.
  it("is given when only a mandate's risk rule applies", () => {
    const d = decide({
      mandates: [mandate("risky", {}, { riskRules: { high: { phishingResistant: true } } })],
      risk: "high",
      evidence: { events: [password(), totp()] },
    });
    expect(d.requirement?.phishingResistant.value).toBe(true);
    expect(codes(d)).toContain("risk.elevated");
  });
});

describe("a mandate's own reading of an unknown risk", () => {
  // Each rule set reads a missing risk level for itself: a mandate that says `low` is not held
  // to its medium rule when the platform reports no risk.
  it("a mandate with unknownRisk low does not apply its medium rule to a sign-in of unknown risk", () => {
    const lenient = mandate(
      "lenient",
      {},
      { unknownRisk: "low", riskRules: { medium: { phishingResistant: true } } },
    );
    const d = decide({ mandates: [lenient], evidence: { events: [password(), totp()] } });
    expect(d.outcome).toBe("allow");
    expect(d.requirement?.phishingResistant.value).toBe(false);
  });
});
