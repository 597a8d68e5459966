// Threat: an exemption renewed again and again becomes permanent (seed 000: "managing exception
// requests so they do not turn permanent"). A principal's approved exemptions that run back to
// back (each starting at most a day after the run so far ends) or overlap form one run, whatever
// their category and whether the request names `renewalOf`; a run holds at most
// `maxRenewals + 1` exemptions, checked when requested and again when approved.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openExemptionWorld, type ExemptionWorld } from "../test-support/exemption-world.js";

const DAY = 86_400;

describe("exemptions: the renewal cap keeps a run of exemptions finite", () => {
  let w: ExemptionWorld;
  beforeEach(async () => {
    w = await openExemptionWorld({ maxRenewals: 2 });
  });
  afterEach(() => w.h.close());

  const requestFor = (from: number, to: number, overrides = {}) =>
    w.h.app.exemptions.request(w.requester, "acme", w.request(from, to, overrides));

  it("refuses a fourth exemption in a row even when every renewal names the first", async () => {
    const first = await w.grant(0, 5);
    await w.grant(5, 10, { renewalOf: first.id });
    await w.grant(10, 15, { renewalOf: first.id });
    await expect(requestFor(15, 20, { renewalOf: first.id })).rejects.toMatchObject({
      code: "exemption.renewal_limit",
      details: { maxRenewals: 2 },
    });
  });

  it("counts back-to-back exemptions of any category that do not name renewalOf", async () => {
    await w.grant(0, 5);
    await w.grant(5, 10, { category: "legacy_integration" });
    await w.grant(10, 15, { category: "break_glass" });
    await expect(requestFor(15, 20)).rejects.toMatchObject({ code: "exemption.renewal_limit" });
    await expect(requestFor(15, 20, { category: "legacy_integration" })).rejects.toMatchObject({
      code: "exemption.renewal_limit",
    });
  });

  it("counts overlapping exemptions of the principal", async () => {
    await w.grant(0, 20);
    await w.grant(1, 21);
    await w.grant(2, 22);
    await expect(requestFor(3, 23)).rejects.toMatchObject({ code: "exemption.renewal_limit" });
  });

  it("counts an exemption that starts within a day of the previous one's end", async () => {
    await w.grant(0, 5);
    await w.grant(5.5, 10);
    await w.grant(11, 15);
    await expect(requestFor(16, 20)).rejects.toMatchObject({ code: "exemption.renewal_limit" });
  });

  it("starts a new run after a break of more than a day", async () => {
    await w.grant(0, 5);
    await w.grant(5, 10);
    await w.grant(10, 15);
    const after = await requestFor(16.01, 20);
    await expect(w.h.app.exemptions.approve(w.approver, "acme", after.id)).resolves.toMatchObject({
      status: "approved",
    });
  });

  it("counts a later exemption already approved, so a gap cannot be filled in afterwards", async () => {
    await w.grant(0, 5);
    await w.grant(10, 15);
    await w.grant(15, 20);
    await expect(requestFor(5, 10)).rejects.toMatchObject({ code: "exemption.renewal_limit" });
  });

  it("refuses at approval a run that requests filed together would make too long", async () => {
    const requested = [];
    for (const [from, to] of [
      [0, 5],
      [5, 10],
      [10, 15],
      [15, 20],
    ] as const) {
      requested.push(await requestFor(from, to));
    }
    const [a, b, c, d] = requested.map((e) => e.id);
    for (const id of [a, b, c]) await w.h.app.exemptions.approve(w.approver, "acme", id!);
    await expect(w.h.app.exemptions.approve(w.approver, "acme", d!)).rejects.toMatchObject({
      code: "exemption.renewal_limit",
    });
    await expect(w.h.app.exemptions.get(w.approver, "acme", d!)).resolves.toMatchObject({
      status: "requested",
    });
  });

  it("counts a revoked exemption for the time it was in force", async () => {
    await w.grant(0, 5);
    await w.grant(5, 10);
    const third = await w.grant(10, 15);
    w.h.clock.advance(14.5 * DAY);
    await w.h.app.exemptions.revoke(w.requester, "acme", third.id, { reason: "renew early" });
    await expect(requestFor(0, 5)).rejects.toMatchObject({ code: "exemption.renewal_limit" });
  });

  it("ignores exemptions revoked before they started, rejected ones and other principals'", async () => {
    await w.grant(0, 5);
    await w.grant(5, 10);
    const unused = await w.grant(10, 15);
    await w.h.app.exemptions.revoke(w.requester, "acme", unused.id, { reason: "not needed" });
    const rejected = await requestFor(10, 15);
    await w.h.app.exemptions.reject(w.approver, "acme", rejected.id, { reason: "no" });
    await w.grant(10, 15, { principal: "bob" });
    await expect(w.grant(10, 15)).resolves.toMatchObject({ status: "approved" });
  });

  it("still refuses a renewalOf naming another principal's exemption", async () => {
    const bobs = await w.grant(0, 5, { principal: "bob" });
    await expect(requestFor(5, 10, { renewalOf: bobs.id })).rejects.toMatchObject({
      code: "request.invalid",
    });
  });
});
