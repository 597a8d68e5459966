// Threat: approvers pre-approve a year of back-to-back exemptions in one sitting, so that nobody
// reviews them again before they run out. An exemption may start at most `maxLeadDays` (default
// 30) after the request is made; together with the renewal cap, which counts future exemptions
// too, no sitting can grant more than one capped run.
import { afterEach, describe, expect, it } from "vitest";
import { openExemptionWorld, type ExemptionWorld } from "../test-support/exemption-world.js";

describe("exemptions: how far ahead an exemption may start", () => {
  let w: ExemptionWorld | undefined;
  afterEach(() => w?.h.close());

  it("refuses a start more than 30 days ahead by default, with the limit in the details", async () => {
    w = await openExemptionWorld();
    await expect(
      w.h.app.exemptions.request(w.requester, "acme", w.request(30.01, 40)),
    ).rejects.toMatchObject({ code: "exemption.starts_too_late", details: { maxLeadDays: 30 } });
    await expect(
      w.h.app.exemptions.request(w.requester, "acme", w.request(30, 40)),
    ).resolves.toMatchObject({ status: "requested" });
  });

  it("follows the maxLeadDays setting", async () => {
    w = await openExemptionWorld({ maxLeadDays: 3 });
    await expect(
      w.h.app.exemptions.request(w.requester, "acme", w.request(4, 8)),
    ).rejects.toMatchObject({ code: "exemption.starts_too_late", details: { maxLeadDays: 3 } });
    await expect(w.grant(3, 8)).resolves.toMatchObject({ status: "approved" });
  });

  it("cannot cover a year with back-to-back 90-day exemptions approved at once", async () => {
    w = await openExemptionWorld();
    await w.grant(0, 90);
    await expect(w.grant(90, 180)).rejects.toMatchObject({ code: "exemption.starts_too_late" });
    await w.grant(10, 100);
    await w.grant(20, 110);
    await expect(w.grant(30, 120)).rejects.toMatchObject({ code: "exemption.renewal_limit" });
  });
});
