/**
 * The mandate service's checks, pinned where a mutation survey of src/app/mandates found them
 * unpinned: every change needs a rationale (creation, update and retirement each passed every
 * test of the area without one), a scope listing no tenant binds nobody and is refused, and a
 * change to a mandate that does not exist answers `not_found`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MandateInput } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";

let h: Harness;
const mandate: MandateInput = {
  scope: { tenants: "all" },
  require: { minAal: 2 },
  exemptible: false,
};
const current = async () => (await h.app.mandates.list(h.admin)).map((m) => [m.id, m.version]);

beforeEach(async () => {
  h = await openHarness();
});
afterEach(() => h.close());

describe("what a mandate change must carry", () => {
  for (const rationale of ["", "  \t "]) {
    it(`refuses a creation, an update and a retirement with the rationale ${JSON.stringify(rationale)}`, async () => {
      const refused = {
        code: "request.invalid",
        message: "Every mandate change needs a rationale.",
      };
      await expect(
        h.app.mandates.create(h.admin, { id: "uplift", mandate, rationale }),
      ).rejects.toMatchObject(refused);
      expect(await current()).toEqual([]);
      await h.app.mandates.create(h.admin, { id: "uplift", mandate, rationale: "threat report" });
      await expect(
        h.app.mandates.update(h.admin, "uplift", { mandate, rationale, ifMatch: 1 }),
      ).rejects.toMatchObject(refused);
      await expect(
        h.app.mandates.retire(h.admin, "uplift", { rationale, ifMatch: 1 }),
      ).rejects.toMatchObject(refused);
      expect(await current()).toEqual([["uplift", 1]]);
    });
  }

  it("refuses a scope that lists no tenant", async () => {
    await expect(
      h.app.mandates.create(h.admin, {
        id: "nobody",
        mandate: { ...mandate, scope: { tenants: [] } },
        rationale: "r",
      }),
    ).rejects.toMatchObject({ code: "mandate.invalid" });
    expect(await current()).toEqual([]);
  });

  it("answers not_found to an update or a retirement of a mandate that does not exist", async () => {
    await expect(
      h.app.mandates.update(h.admin, "nothing", { mandate, rationale: "r", ifMatch: 1 }),
    ).rejects.toMatchObject({ code: "not_found" });
    await expect(
      h.app.mandates.retire(h.admin, "nothing", { rationale: "r", ifMatch: 1 }),
    ).rejects.toMatchObject({ code: "not_found" });
  });
});
