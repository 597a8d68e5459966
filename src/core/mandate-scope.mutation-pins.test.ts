/**
 * Mandate scope rules pinned where a mutation survey found them unpinned.
 */
import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import { mandateEscapedByMove, mandatesBinding, unexemptibleMandatesFor } from "./mandate-scope.js";
import { NOW_MS, TENANT } from "./test-support/arbitraries.js";
import { NOW, mandate, password } from "./test-support/fixtures.js";

describe("mandates and guests", () => {
  // Policy does not apply to guests: not even a mandate scoped to every population binds one.
  it("no mandate binds a guest, not even one scoped to all populations", () => {
    const everyone = [
      mandate("all", { minAal: 2 }, { exemptible: false }),
      mandate("listed", { minAal: 2 }, { scope: { tenants: "all", populations: ["guest"] } }),
    ];
    expect(mandatesBinding(everyone, TENANT, "guest", NOW_MS)).toEqual([]);
    expect(unexemptibleMandatesFor(everyone, TENANT, "guest", NOW_MS)).toEqual([]);
    expect(mandatesBinding(everyone, TENANT, "direct", NOW_MS).map((m) => m.id)).toEqual(["all"]);
  });
});

describe("mandates and integrations signing in as people", () => {
  // Seed 000: an integration that signs in with a password is held to MFA as a person, so the
  // engine applies to it the mandates scoped to `direct` as well as its own. Moving it to
  // another population of people must count those: out of `direct`'s reach, it escapes them.
  const directOnly = mandate(
    "direct-uplift",
    { minAal: 2, phishingResistant: true },
    { scope: { tenants: "all", populations: ["direct"] }, exemptible: false },
  );

  it("the engine holds an integration signing in with a password to a mandate scoped to direct", () => {
    const decision = evaluate(
      {
        tenant: TENANT,
        policy: { tenant: TENANT, version: 1, posture: "mfa_optional" },
        mandates: [directOnly],
        principal: { id: "sync-bot", population: "integration" },
        evidence: { events: [password()] },
      },
      { now: NOW },
    );
    expect(decision.versions.mandates.map((m) => m.id)).toEqual(["direct-uplift"]);
    expect(decision.outcome).not.toBe("allow");
  });

  it("moving an integration to sso or api_human escapes a mandate scoped to direct", () => {
    for (const to of ["sso", "api_human"] as const) {
      expect(mandateEscapedByMove([directOnly], TENANT, "integration", to, NOW_MS)?.id).toBe(
        "direct-uplift",
      );
    }
    // Moving it to direct keeps the mandate's reach.
    expect(mandateEscapedByMove([directOnly], TENANT, "integration", "direct", NOW_MS)).toBe(
      undefined,
    );
  });
});
