/**
 * The compliance report's checks, pinned where a mutation survey of src/app/reports found them
 * unpinned (the mutant passed reports.test.ts, compliance-report.test.ts and
 * compliance-report-route.test.ts): an exemption whose principal the report did not read is held
 * to the not-exemptible mandates of every population, the safe side, not to none.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ExemptionRecord } from "../records.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("compliance report (mutation pins)", () => {
  let h: Harness;
  const at = (days: number) => new Date(h.clock.now().getTime() + days * 86_400_000).toISOString();

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
  });
  afterEach(async () => {
    await h.close();
  });

  // Mutant: `population === undefined ? everyPopulation : …` made `[]`. Principals are never
  // removed, so only a store changed outside the service holds such an exemption: written here
  // straight to the store, for a principal never registered.
  it("holds an exemption of a principal it did not read to every population's not-exemptible mandates", async () => {
    const mandate = (id: string, population: "direct" | "sso") =>
      h.app.mandates.create(h.admin, {
        id,
        mandate: {
          require: { minAal: 2 },
          exemptible: false,
          scope: { tenants: ["acme"], populations: [population] },
        },
        rationale: "r",
      });
    await mandate("direct-uplift", "direct");
    await mandate("sso-uplift", "sso");
    const record: ExemptionRecord = {
      id: "ex-ghost",
      tenant: "acme",
      principal: "ghost",
      category: "temporary_access",
      status: "approved",
      startsAt: at(-1),
      expiresAt: at(5),
      reviewAt: at(1),
      requestedBy: "requester",
      approvedBy: "approver",
      owner: "it-helpdesk",
      justification: "seeded",
      createdAt: at(-1),
    };
    await h.store.transaction((r) => r.exemptions.insert(record));

    const review = (await h.app.reports.compliance(h.admin, "acme", {})).exemptions;
    expect(review.items.map((item) => [item.id, item.state])).toEqual([["ex-ghost", "in_force"]]);
    expect([...(review.items[0]?.notExemptibleMandates ?? [])].sort()).toEqual([
      "direct-uplift",
      "sso-uplift",
    ]);
    expect(review.inForceLimitedByMandates).toBe(1);
  });
});
