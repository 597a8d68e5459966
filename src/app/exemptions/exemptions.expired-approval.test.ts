// Threat: a request left waiting past its expiry is approved anyway, writing an
// `exemption.approved` event for an exemption that can never apply: the audit log then tells an
// auditor of an exemption that was never in force. Approval refuses it with `exemption.expired`.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openExemptionWorld, type ExemptionWorld } from "../test-support/exemption-world.js";

const DAY = 86_400;

describe("exemptions: an expired request cannot be approved", () => {
  let w: ExemptionWorld;
  beforeEach(async () => {
    w = await openExemptionWorld();
  });
  afterEach(() => w.h.close());

  it("refuses, leaves the request as it was and writes no approval event", async () => {
    const requested = await w.h.app.exemptions.request(w.requester, "acme", w.request(0, 1));
    w.h.clock.advance(3 * DAY);
    await expect(
      w.h.app.exemptions.approve(w.approver, "acme", requested.id),
    ).rejects.toMatchObject({ code: "exemption.expired" });
    await expect(w.h.app.exemptions.get(w.approver, "acme", requested.id)).resolves.toMatchObject({
      status: "requested",
    });
    const audit = await w.h.app.audit.list(w.h.admin, "acme", {}, {});
    expect(audit.items.map((event) => event.type)).not.toContain("exemption.approved");
  });

  it("refuses at the very instant of expiry", async () => {
    const requested = await w.h.app.exemptions.request(w.requester, "acme", w.request(0, 1));
    w.h.clock.advance(DAY);
    await expect(
      w.h.app.exemptions.approve(w.approver, "acme", requested.id),
    ).rejects.toMatchObject({ code: "exemption.expired" });
  });

  it("still lets the expired request be rejected", async () => {
    const requested = await w.h.app.exemptions.request(w.requester, "acme", w.request(0, 1));
    w.h.clock.advance(3 * DAY);
    await expect(
      w.h.app.exemptions.reject(w.approver, "acme", requested.id, { reason: "too late" }),
    ).resolves.toMatchObject({ status: "rejected" });
  });
});
