/**
 * The exemption service's checks, pinned where a mutation survey of src/app/exemptions found
 * them unpinned: what a request must say (a justification and an owner that say something).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, ExemptionRequest } from "../application.js";
import { DEFAULT_SETTINGS } from "../context.js";
import { openHarness, type Harness } from "../test-support/harness.js";

const DAY = 86_400_000;
let h: Harness;
let requester: Caller;
const at = (days: number) => new Date(h.clock.now().getTime() + days * DAY).toISOString();
const request = (overrides: Partial<ExemptionRequest> = {}): ExemptionRequest => ({
  principal: "alice",
  category: "temporary_access",
  justification: "Phone lost; replacement arrives Friday",
  owner: "it-helpdesk",
  startsAt: at(0),
  expiresAt: at(5),
  reviewAt: at(3),
  ...overrides,
});

beforeEach(async () => {
  h = await openHarness();
  await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
  requester = await h.caller(["tenant_admin"], ["acme"]);
  await h.app.principals.upsert(requester, "acme", "alice", { population: "direct" });
});
afterEach(() => h.close());

describe("what an exemption request must say", () => {
  for (const field of ["justification", "owner"] as const) {
    it(`refuses a ${field} of white space alone, storing nothing`, async () => {
      await expect(
        h.app.exemptions.request(requester, "acme", request({ [field]: " \t " })),
      ).rejects.toMatchObject({ code: "request.invalid", message: `${field} is required.` });
      expect((await h.app.exemptions.list(h.admin, "acme", {}, {})).items).toEqual([]);
    });
  }

  it("refuses an expiry at the very instant the exemption starts: it would cover no time", async () => {
    await expect(
      h.app.exemptions.request(
        requester,
        "acme",
        request({ startsAt: at(1), expiresAt: at(1), reviewAt: at(1) }),
      ),
    ).rejects.toMatchObject({
      code: "request.invalid",
      message: "expiresAt must be after startsAt.",
    });
  });

  it("refuses an expiry that has come already, to the instant", async () => {
    for (const expiresAt of [at(-1), at(0)]) {
      await expect(
        h.app.exemptions.request(
          requester,
          "acme",
          request({ startsAt: at(-2), expiresAt, reviewAt: at(-1.5) }),
        ),
      ).rejects.toMatchObject({ code: "request.invalid", message: "expiresAt is in the past." });
    }
  });

  it("refuses a review date after the expiry, when no one would review it in time", async () => {
    const late = new Date(Date.parse(at(5)) + 1000).toISOString();
    await expect(
      h.app.exemptions.request(requester, "acme", request({ reviewAt: late })),
    ).rejects.toMatchObject({
      code: "request.invalid",
      message: "reviewAt must lie between startsAt and expiresAt.",
    });
    const onExpiry = await h.app.exemptions.request(
      requester,
      "acme",
      request({ reviewAt: at(5) }),
    );
    expect(onExpiry.reviewAt).toBe(at(5));
  });
});

describe("how long an exemption may last", () => {
  const { maxDays, breakGlassMaxDays } = DEFAULT_SETTINGS.exemptions;
  const cases = [
    { category: "temporary_access", days: maxDays },
    { category: "break_glass", days: breakGlassMaxDays },
  ] as const;
  for (const { category, days } of cases) {
    it(`refuses a ${category} exemption one second past ${days} days, and takes one of exactly ${days}`, async () => {
      const longest = at(days);
      const past = new Date(Date.parse(longest) + 1000).toISOString();
      await expect(
        h.app.exemptions.request(
          requester,
          "acme",
          request({ category, expiresAt: past, reviewAt: at(1) }),
        ),
      ).rejects.toMatchObject({ code: "exemption.too_long", details: { maxDays: days } });
      const exact = await h.app.exemptions.request(
        requester,
        "acme",
        request({ category, expiresAt: longest, reviewAt: at(1) }),
      );
      expect(exact.expiresAt).toBe(longest);
    });
  }
});
