// Threat: the cap on a tenant's active exemptions is bypassed by approving exemptions that start
// later, which then all become active together. The cap counts the tenant's approved exemptions
// whose window overlaps the candidate's remaining window, not those active at the moment of
// approval. (Concurrent approvals on PostgreSQL: exemptions.tenant-limit.multi-instance.test.ts.)
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openExemptionWorld, type ExemptionWorld } from "../test-support/exemption-world.js";

const DAY = 86_400;

describe("exemptions: the per-tenant cap counts overlapping windows", () => {
  let w: ExemptionWorld;
  beforeEach(async () => {
    w = await openExemptionWorld({ maxActivePerTenant: 2 });
  });
  afterEach(() => w.h.close());

  it("refuses a third exemption starting tomorrow beside two others starting tomorrow", async () => {
    await w.grant(1, 5, { principal: "alice" });
    await w.grant(1, 5, { principal: "bob" });
    await expect(w.grant(1, 5, { principal: "carol" })).rejects.toMatchObject({
      code: "exemption.tenant_limit",
      details: { maxActivePerTenant: 2 },
    });
    w.h.clock.advance(2 * DAY);
    const active = await w.h.app.exemptions.list(
      w.approver,
      "acme",
      { activeAt: w.h.clock.now().toISOString() },
      {},
    );
    expect(active.items).toHaveLength(2);
  });

  it("refuses an exemption today that would overlap two starting later", async () => {
    await w.grant(3, 8, { principal: "alice" });
    await w.grant(4, 9, { principal: "bob" });
    await expect(w.grant(0, 5, { principal: "carol" })).rejects.toMatchObject({
      code: "exemption.tenant_limit",
    });
  });

  it("approves an exemption that starts when the others end", async () => {
    await w.grant(0, 5, { principal: "alice" });
    await w.grant(0, 5, { principal: "bob" });
    await expect(w.grant(5, 10, { principal: "carol" })).resolves.toMatchObject({
      status: "approved",
    });
  });

  it("does not count expired or revoked exemptions", async () => {
    await w.grant(0, 1, { principal: "alice" });
    const bobs = await w.grant(0, 5, { principal: "bob" });
    await w.h.app.exemptions.revoke(w.requester, "acme", bobs.id, { reason: "phone found" });
    w.h.clock.advance(2 * DAY);
    await w.grant(0, 5, { principal: "carol" });
    await expect(w.grant(0, 5, { principal: "dave" })).resolves.toMatchObject({
      status: "approved",
    });
  });
});
