// Contract: times are ISO 8601 UTC everywhere in the API and the audit log (DESIGN). A mandate's
// active window sent with an offset must be stored, answered and audited as the same instant in
// `toISOString()` form, never echoed as sent.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chainOf } from "../audit/audit-chain.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("a mandate's active window in UTC", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(() => h.close());

  const mandate = (window: { activeFrom?: string; activeUntil?: string }) => ({
    scope: { tenants: "all" as const },
    require: { minAal: 2 as const },
    exemptible: false,
    ...window,
  });

  const platformAudit = async (type: string) => {
    const events = await h.store.read(({ audit }) =>
      audit.read(chainOf(null), { afterSeq: 0, limit: 100 }),
    );
    return events.filter((e) => e.type === type);
  };

  it("answers, stores and audits an offset activeFrom and activeUntil as the UTC instant", async () => {
    const created = await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: mandate({
        activeFrom: "2026-12-06T10:00:00+02:00",
        activeUntil: "2026-12-31T18:30:00.25-05:30",
      }),
      rationale: "threat report",
    });
    const utc = {
      activeFrom: "2026-12-06T08:00:00.000Z",
      activeUntil: "2027-01-01T00:00:00.250Z",
    };
    expect(created.mandate).toMatchObject(utc);
    expect((await h.app.mandates.get(h.admin, "uplift")).mandate).toMatchObject(utc);
    expect((await h.app.mandates.list(h.admin))[0]?.mandate).toMatchObject(utc);
    const [event] = await platformAudit("mandate.created");
    expect(event?.payload).toMatchObject({ mandate: utc });
  });

  it("brings an update's times to UTC too, in the answer and the audit event", async () => {
    await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: mandate({}),
      rationale: "threat report",
    });
    const updated = await h.app.mandates.update(h.admin, "uplift", {
      mandate: mandate({
        activeFrom: "2026-12-06T08:00:00.000Z",
        activeUntil: "2027-01-15T00:00:00-01:00",
      }),
      rationale: "extend the uplift",
      ifMatch: 1,
    });
    // A time already in toISOString() form is written as it came.
    const utc = {
      activeFrom: "2026-12-06T08:00:00.000Z",
      activeUntil: "2027-01-15T01:00:00.000Z",
    };
    expect(updated.mandate).toMatchObject(utc);
    expect((await h.app.mandates.get(h.admin, "uplift")).mandate).toMatchObject(utc);
    const [event] = await platformAudit("mandate.updated");
    expect(event?.payload).toMatchObject({ mandate: utc });
  });

  it.each([
    ["before year 0000", "0000-01-01T00:30:00+01:00"],
    ["after year 9999", "9999-12-31T23:30:00-01:00"],
  ])(
    "refuses an offset time whose UTC instant falls %s, which has no 4-digit UTC form",
    async (_, activeFrom) => {
      await expect(
        h.app.mandates.create(h.admin, {
          id: "uplift",
          mandate: mandate({ activeFrom }),
          rationale: "threat report",
        }),
      ).rejects.toMatchObject({
        code: "mandate.invalid",
        message: expect.stringContaining("activeFrom"),
      });
    },
  );
});
