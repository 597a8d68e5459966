/**
 * The policy service's checks, pinned where a mutation survey of src/app/policies and
 * src/app/mandates found them unpinned: the warnings a policy answer carries name the mandates
 * that bind its tenant now, and no other. Dropping the tenant test from `mandatesBinding` showed
 * a tenant's administrators the mandates scoped to other tenants (their ids and titles, DESIGN
 * invariant 5), and the ends of the active window were free to move by an instant.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MandateInput } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";

const HOUR = 3_600_000;
let h: Harness;
const at = (hours: number) => new Date(h.clock.now().getTime() + hours * HOUR).toISOString();
const strict = { require: { minAal: 2 as const }, exemptible: false };
const mandate = (id: string, more: Partial<MandateInput>) =>
  h.app.mandates.create(h.admin, {
    id,
    mandate: { ...strict, scope: { tenants: "all" }, ...more },
    rationale: "threat report",
  });
const warnedBy = async () => {
  const { overrides } = await h.app.policies.current(h.admin, "acme");
  return [...new Set(overrides.map((o) => o.mandate))].sort();
};

beforeEach(async () => {
  h = await openHarness();
  for (const id of ["acme", "globex"]) await h.app.tenants.create(h.admin, { id, name: id });
  await h.app.policies.replace(h.admin, "acme", {
    policy: { posture: "mfa_optional" },
    rationale: "pilot",
    ifMatch: 1,
  });
});
afterEach(() => h.close());

describe("the mandates a policy answer warns of", () => {
  it("names no mandate scoped to another tenant only", async () => {
    await mandate("globex-only", { scope: { tenants: ["globex"] } });
    expect(await warnedBy()).toEqual([]);
    await mandate("acme-too", { scope: { tenants: ["globex", "acme"] } });
    expect(await warnedBy()).toEqual(["acme-too"]);
    const written = await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "mfa_optional" },
      rationale: "again",
      ifMatch: 2,
    });
    expect([...new Set(written.overrides.map((o) => o.mandate))]).toEqual(["acme-too"]);
  });

  it("names a mandate from the instant its window opens, and not before", async () => {
    await mandate("opens", { activeFrom: at(1) });
    expect(await warnedBy()).toEqual([]);
    h.clock.advance(3600 - 0.001);
    expect(await warnedBy()).toEqual([]);
    h.clock.advance(0.001);
    expect(await warnedBy()).toEqual(["opens"]);
  });

  it("stops naming a mandate at the instant its window closes", async () => {
    await mandate("closes", { activeUntil: at(1) });
    expect(await warnedBy()).toEqual(["closes"]);
    h.clock.advance(3600 - 0.001);
    expect(await warnedBy()).toEqual(["closes"]);
    h.clock.advance(0.001);
    expect(await warnedBy()).toEqual([]);
  });
});
