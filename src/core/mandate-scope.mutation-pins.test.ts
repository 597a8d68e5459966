/**
 * Mandate scope rules pinned where a mutation survey found them unpinned.
 */
import { describe, expect, it } from "vitest";
import { mandatesBinding, unexemptibleMandatesFor } from "./mandate-scope.js";
import { NOW_MS, TENANT } from "./test-support/arbitraries.js";
import { mandate } from "./test-support/fixtures.js";

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
