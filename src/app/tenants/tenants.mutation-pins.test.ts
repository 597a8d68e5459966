/**
 * The tenant use cases' checks, pinned where a mutation survey of src/app/tenants found them
 * unpinned. The authorisation matrix gives every role but platform_admin a key scoped to one
 * tenant; a key of another role may reach every tenant (`tenants: "all"`, as the platform's
 * backend holds), and listing the tenants then answers only to `tenant.list`, which the matrix
 * never reached: deleting that check let such a key list every tenant on the platform. And the
 * return URLs a tenant registers (where flows may send people back, DESIGN invariant 10) were
 * checked by a unit test of `returnUrlProblem` alone: the use cases could skip it unseen.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROLES } from "../records.js";
import { openHarness, type Harness } from "../test-support/harness.js";

let h: Harness;

beforeEach(async () => {
  h = await openHarness();
  for (const id of ["acme", "globex"]) await h.app.tenants.create(h.admin, { id, name: id });
});
afterEach(() => h.close());

describe("tenants.list by a key that reaches every tenant", () => {
  for (const role of ROLES.filter((r) => r !== "platform_admin")) {
    it(`refuses a ${role} key reaching all tenants: auth.forbidden`, async () => {
      const caller = await h.caller([role], "all");
      await expect(h.app.tenants.list(caller, {})).rejects.toMatchObject({
        code: "auth.forbidden",
      });
    });
  }

  it("lists every tenant for a platform administrator", async () => {
    const page = await h.app.tenants.list(h.admin, {});
    expect(page.items.map((t) => t.id)).toEqual(["acme", "globex"]);
  });
});

describe("the return URLs a tenant registers", () => {
  const bad = ["http://app.acme.example/", "javascript:alert(1)", "https://u@app.acme.example/"];

  for (const url of bad) {
    it(`refuses ${url} on creation and on change, keeping what was registered`, async () => {
      await expect(
        h.app.tenants.create(h.admin, { id: "initech", name: "Initech", returnUrls: [url] }),
      ).rejects.toMatchObject({ code: "request.invalid" });
      await expect(h.app.tenants.get(h.admin, "initech")).rejects.toMatchObject({
        code: "not_found",
      });
      const kept = ["https://app.acme.example/done"];
      await h.app.tenants.setReturnUrls(h.admin, "acme", { returnUrls: kept });
      await expect(
        h.app.tenants.setReturnUrls(h.admin, "acme", { returnUrls: [...kept, url] }),
      ).rejects.toMatchObject({ code: "request.invalid" });
      expect((await h.app.tenants.get(h.admin, "acme")).returnUrls).toEqual(kept);
    });
  }
});
