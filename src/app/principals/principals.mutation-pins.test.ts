/**
 * The principal service's checks, pinned where a mutation survey of src/app/principals found
 * them unpinned: a principal is bound only to an IdP its tenant has. Skipping that check stored
 * a binding to an IdP id the tenant had not registered, unseen by any test: a typing mistake the
 * administrator is not told of, and a binding that whichever IdP is later registered under that
 * id would satisfy (DESIGN invariant 9 binds a sign-in to the IdP that produced it).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openHarness, type Harness } from "../test-support/harness.js";

let h: Harness;

beforeEach(async () => {
  h = await openHarness();
  await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
});
afterEach(() => h.close());

describe("the IdP a principal is bound to", () => {
  it("refuses an IdP the tenant does not have, on registration and on update", async () => {
    await expect(
      h.app.principals.upsert(h.admin, "acme", "alice", { population: "sso", idp: "corp" }),
    ).rejects.toMatchObject({ code: "request.invalid" });
    await expect(h.app.principals.get(h.admin, "acme", "alice")).rejects.toMatchObject({
      code: "not_found",
    });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "sso" });
    await expect(
      h.app.principals.upsert(h.admin, "acme", "alice", { population: "sso", idp: "corp" }),
    ).rejects.toMatchObject({ code: "request.invalid" });
    expect((await h.app.principals.get(h.admin, "acme", "alice")).idp).toBeUndefined();
  });
});
