/**
 * Rules of joinRequirements() that a mutation survey found unpinned: each test here fails when
 * the rule it names is removed or weakened.
 */
import { describe, expect, it } from "vitest";
import { joinRequirements, type RuleRef } from "./requirement.js";

const m1: RuleRef = { kind: "mandate", id: "m1", version: 3 };
const tenant: RuleRef = { kind: "tenant_policy", version: 7 };

describe("provenance of the shortest limits", () => {
  // A receipt names every rule that set a limit, so that an auditor sees that removing one of
  // them alone would not loosen it.
  it("lists every rule that asks for the shortest maximum age, in order", () => {
    const r = joinRequirements([
      { spec: { maxAgeSeconds: 300 }, from: m1 },
      { spec: { maxAgeSeconds: 300 }, from: tenant },
    ]);
    expect(r.maxAgeSeconds).toEqual({ value: 300, from: [m1, tenant] });
  });

  it("lists every rule that asks for the shortest idle timeout, in order", () => {
    const r = joinRequirements([
      { spec: { idleTimeoutSeconds: 600 }, from: m1 },
      { spec: { idleTimeoutSeconds: 600 }, from: tenant },
    ]);
    expect(r.idleTimeoutSeconds).toEqual({ value: 600, from: [m1, tenant] });
  });
});
