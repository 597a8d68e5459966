// Threat: an emergency mandate that binds no one while its author believes it is in force. A
// window whose `activeUntil` is not after its `activeFrom` (the two times swapped in a hurry), or
// a scope of guests alone (guests are decided before any rule is read), would be stored as
// `active`, answered 201 and audited, and enforce nothing. So would a window that has already
// ended (last year's dates), or a scope naming a tenant id that no tenant can have (`ACME`:
// tenant ids are lower case). Such a mandate is refused as `mandate.invalid`, on creation and on
// update, and nothing is written.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MandateInput } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("mandates: a mandate must bind someone at some time", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(() => h.close());

  const mandate = (overrides: Partial<MandateInput> = {}): MandateInput => ({
    scope: { tenants: "all" },
    require: { minAal: 2 },
    exemptible: false,
    ...overrides,
  });
  const mandateEvents = async () => {
    const events = await h.store.read(({ audit }) =>
      audit.read(chainOf(null), { afterSeq: 0, limit: 100 }),
    );
    return events.filter((e) => e.type.startsWith("mandate."));
  };

  it("refuses a window whose activeUntil comes before its activeFrom", async () => {
    await expect(
      h.app.mandates.create(h.admin, {
        id: "uplift",
        mandate: mandate({
          activeFrom: "2026-12-10T00:00:00Z",
          activeUntil: "2026-12-01T00:00:00Z",
        }),
        rationale: "phishing campaign",
      }),
    ).rejects.toMatchObject({
      code: "mandate.invalid",
      message: expect.stringContaining("activeUntil must be after mandate.activeFrom"),
    });
    await expect(h.app.mandates.get(h.admin, "uplift")).rejects.toMatchObject({
      code: "not_found",
    });
    expect(await mandateEvents()).toEqual([]);
  });

  it("refuses an empty window, comparing the instants rather than the text", async () => {
    await expect(
      h.app.mandates.create(h.admin, {
        id: "uplift",
        mandate: mandate({
          activeFrom: "2026-12-10T02:00:00+02:00",
          activeUntil: "2026-12-10T00:00:00Z",
        }),
        rationale: "phishing campaign",
      }),
    ).rejects.toMatchObject({ code: "mandate.invalid" });
  });

  it("refuses an update that swaps the window, keeping the version in force", async () => {
    await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: mandate({ activeFrom: "2026-12-01T00:00:00Z" }),
      rationale: "phishing campaign",
    });
    await expect(
      h.app.mandates.update(h.admin, "uplift", {
        mandate: mandate({
          activeFrom: "2027-01-01T00:00:00Z",
          activeUntil: "2026-12-01T00:00:00Z",
        }),
        rationale: "extend",
        ifMatch: 1,
      }),
    ).rejects.toMatchObject({ code: "mandate.invalid" });
    expect(await h.app.mandates.get(h.admin, "uplift")).toMatchObject({
      version: 1,
      mandate: { activeFrom: "2026-12-01T00:00:00.000Z" },
    });
  });

  it("refuses a scope of guests alone, which no decision ever reads", async () => {
    await expect(
      h.app.mandates.create(h.admin, {
        id: "guests",
        mandate: mandate({ scope: { tenants: "all", populations: ["guest"] } }),
        rationale: "uplift",
      }),
    ).rejects.toMatchObject({ code: "mandate.invalid" });
    expect(await mandateEvents()).toEqual([]);
  });

  it("refuses a window that has already ended, on creation and on update", async () => {
    const now = h.clock.now().getTime();
    const ended = { activeFrom: "2026-01-01T00:00:00Z", activeUntil: new Date(now).toISOString() };
    await expect(
      h.app.mandates.create(h.admin, {
        id: "uplift",
        mandate: mandate(ended),
        rationale: "phishing campaign",
      }),
    ).rejects.toMatchObject({
      code: "mandate.invalid",
      message: expect.stringContaining("activeUntil has passed"),
    });
    expect(await mandateEvents()).toEqual([]);
    await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: mandate({ activeUntil: new Date(now + 1).toISOString() }),
      rationale: "phishing campaign",
    });
    await expect(
      h.app.mandates.update(h.admin, "uplift", {
        mandate: mandate(ended),
        rationale: "typed last year's dates",
        ifMatch: 1,
      }),
    ).rejects.toMatchObject({ code: "mandate.invalid" });
    expect(await h.app.mandates.get(h.admin, "uplift")).toMatchObject({ version: 1 });
  });

  it.each([
    ["in capitals", ["ACME"]],
    ["with a space", ["acme globex"]],
    ["beside a tenant id that can be one", ["acme", "Globex"]],
  ])("refuses a scope naming a tenant id no tenant can have, %s", async (_name, tenants) => {
    await expect(
      h.app.mandates.create(h.admin, {
        id: "uplift",
        mandate: mandate({ scope: { tenants } }),
        rationale: "uplift for one tenant",
      }),
    ).rejects.toMatchObject({
      code: "mandate.invalid",
      message: expect.stringContaining(JSON.stringify(tenants.at(-1))),
    });
    expect(await mandateEvents()).toEqual([]);
  });

  it("still accepts a window that ends after it starts, and a scope naming guests among others", async () => {
    await expect(
      h.app.mandates.create(h.admin, {
        id: "uplift",
        mandate: mandate({
          scope: { tenants: "all", populations: ["guest", "direct"] },
          activeFrom: "2026-12-01T00:00:00Z",
          activeUntil: "2026-12-01T00:00:00.001Z",
        }),
        rationale: "phishing campaign",
      }),
    ).resolves.toMatchObject({ version: 1, status: "active" });
  });
});
