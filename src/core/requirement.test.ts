import { describe, expect, it } from "vitest";
import { joinRequirements, type RuleRef } from "./requirement.js";

const m1: RuleRef = { kind: "mandate", id: "m1", version: 3 };
const m2: RuleRef = { kind: "mandate", id: "m2", version: 1 };
const tenant: RuleRef = { kind: "tenant_policy", version: 7 };

describe("joining rules into the effective requirement", () => {
  it("takes the highest AAL and remembers which rule set it", () => {
    const r = joinRequirements([
      { spec: { minAal: 2 }, from: m1 },
      { spec: { minAal: 3 }, from: tenant },
    ]);
    expect(r.minAal).toEqual({ value: 3, from: [tenant] });
  });

  it("lists every rule that asks for the winning value", () => {
    const r = joinRequirements([
      { spec: { minAal: 2 }, from: m1 },
      { spec: { minAal: 2 }, from: tenant },
    ]);
    expect(r.minAal.from).toEqual([m1, tenant]);
  });

  it("starts from AAL1, the baseline of any applicable sign-in", () => {
    expect(joinRequirements([]).minAal).toEqual({ value: 1, from: [{ kind: "baseline" }] });
  });

  it("requires phishing resistance if any rule asks for it", () => {
    const r = joinRequirements([
      { spec: { phishingResistant: false }, from: tenant },
      { spec: { phishingResistant: true }, from: m2 },
    ]);
    expect(r.phishingResistant).toEqual({ value: true, from: [m2] });
  });

  it("takes the shortest maximum age", () => {
    const r = joinRequirements([
      { spec: { maxAgeSeconds: 900 }, from: m1 },
      { spec: { maxAgeSeconds: 300 }, from: tenant },
    ]);
    expect(r.maxAgeSeconds).toEqual({ value: 300, from: [tenant] });
  });

  it("intersects accepted methods and records every rule that restricted them", () => {
    const r = joinRequirements([
      { spec: { acceptedMethods: ["totp", "webauthn"] }, from: m1 },
      { spec: { acceptedMethods: ["webauthn", "recovery_code"] }, from: tenant },
    ]);
    expect(r.acceptedMethods).toEqual({ value: ["webauthn"], from: [m1, tenant] });
  });

  it("intersects proof sources: idp_or_platform narrowed to idp", () => {
    const r = joinRequirements([
      { spec: { proofSource: "idp_or_platform" }, from: m1 },
      { spec: { proofSource: "idp" }, from: tenant },
    ]);
    expect(r.proofSource).toEqual({ value: "idp", from: [m1, tenant] });
  });

  it("marks a conflict of proof sources as null", () => {
    const r = joinRequirements([
      { spec: { proofSource: "platform" }, from: m1 },
      { spec: { proofSource: "idp" }, from: tenant },
    ]);
    expect(r.proofSource.value).toBeNull();
  });

  describe("reauthentication defaults (NIST SP 800-63B-4)", () => {
    const table: [number, number, number | null][] = [
      [1, 30 * 86400, null],
      [2, 24 * 3600, 3600],
      [3, 12 * 3600, 900],
    ];
    it.each(table)("AAL%i: overall %is, idle %s", (aal, overall, idle) => {
      const r = joinRequirements([{ spec: { minAal: aal as 1 | 2 | 3 }, from: m1 }]);
      expect(r.reauthIntervalSeconds).toEqual({ value: overall, from: [{ kind: "nist_default" }] });
      expect(r.idleTimeoutSeconds.value).toBe(idle);
    });

    it("uses a rule's tighter limit instead of the default", () => {
      const r = joinRequirements([
        {
          spec: { minAal: 2, reauthIntervalSeconds: 8 * 3600, idleTimeoutSeconds: 600 },
          from: tenant,
        },
      ]);
      expect(r.reauthIntervalSeconds).toEqual({ value: 8 * 3600, from: [tenant] });
      expect(r.idleTimeoutSeconds).toEqual({ value: 600, from: [tenant] });
    });

    it("never lets a rule loosen the default", () => {
      const r = joinRequirements([
        { spec: { minAal: 2, reauthIntervalSeconds: 7 * 86400 }, from: tenant },
      ]);
      expect(r.reauthIntervalSeconds).toEqual({
        value: 24 * 3600,
        from: [{ kind: "nist_default" }],
      });
    });
  });
});
