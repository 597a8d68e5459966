// Threat: a person approves their own exemption request through a second API key whose holder
// was typed or pasted slightly differently: a trailing space, a tab, a zero-width space, a soft
// hyphen, or the name in capitals (`STRAUSS` for `Strauß`). NFKC and lower case make `Dana@ACME`
// and full-width `ｄana` one party, but keep white space and invisible characters, and tell `ß`
// from `SS`, so those holders counted as two people. Separation of duties compares holders
// blind to them too; a holder with a visibly different name is still another party.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { openExemptionWorld, type ExemptionWorld } from "../test-support/exemption-world.js";

describe("exemptions: holders that differ only in white space, invisible characters or case are one party", () => {
  let w: ExemptionWorld;
  beforeEach(async () => {
    w = await openExemptionWorld();
  });
  afterEach(() => w.h.close());

  /** A caller through a real key held by `holder`, as a platform admin would issue it. */
  const keyOf = async (roles: Caller["roles"], holder: string): Promise<Caller> => {
    const { secret } = await w.h.app.apiKeys.create(w.h.admin, {
      name: roles.join("+"),
      roles,
      tenants: ["acme"],
      holder,
    });
    return w.h.app.authenticate(secret);
  };

  it.each([
    ["a trailing space", "dana@acme.example "],
    ["a leading space", " dana@acme.example"],
    ["a tab and a case difference", "Dana@ACME.example\t"],
    ["a no-break space inside", "dana@acme\u00a0.example"],
    ["a zero-width space", "dana@acme.example\u200b"],
    ["a soft hyphen", "da\u00adna@acme.example"],
    ["a byte order mark", "\ufeffdana@acme.example"],
    // Format characters outside Default_Ignorable_Code_Point, and a blank that is a symbol:
    // they show nothing either, and the principal ids refuse them for making one id look like
    // another.
    ["an interlinear annotation anchor", "dana@acme.example\ufff9"],
    ["an Egyptian hieroglyph format control", "dana\u{13430}@acme.example"],
    ["a blank Braille pattern", "dana@acme.example\u2800"],
  ])("refuses an approval through a key whose holder has %s", async (_name, variant) => {
    const asAdmin = await keyOf(["tenant_admin"], "dana@acme.example");
    const asApprover = await keyOf(["exemption_approver"], variant);
    const requested = await w.h.app.exemptions.request(asAdmin, "acme", w.request());
    await expect(
      w.h.app.exemptions.approve(asApprover, "acme", requested.id),
    ).rejects.toMatchObject({ code: "exemption.self_approval" });
    expect((await w.h.app.exemptions.get(asAdmin, "acme", requested.id)).status).toBe("requested");
  });

  // Lower case alone is no case folding: `ß` has no upper-case letter of its own (`SS`), and `Σ`
  // two lower-case ones (`σ`, and `ς` ending a word).
  it.each([
    ["a sharp s written as SS", "jürgen.strauß@acme.example", "JÜRGEN.STRAUSS@ACME.EXAMPLE"],
    ["a final sigma written as a sigma", "Οδυσσευς", "οδυσσευσ"],
    // Capitals may also write `ß` as `ẞ` (German orthography since 2017), whose lower case is `ß`.
    [
      "a sharp s written as a capital sharp s",
      "jürgen.strauß@acme.example",
      "JÜRGEN.STRAUẞ@ACME.EXAMPLE",
    ],
  ])(
    "refuses an approval through a key whose holder differs in case by %s",
    async (_name, holder, variant) => {
      const asAdmin = await keyOf(["tenant_admin"], holder);
      const asApprover = await keyOf(["exemption_approver"], variant);
      const requested = await w.h.app.exemptions.request(asAdmin, "acme", w.request());
      await expect(
        w.h.app.exemptions.approve(asApprover, "acme", requested.id),
      ).rejects.toMatchObject({ code: "exemption.self_approval" });
    },
  );

  it("still lets a holder with another visible name approve", async () => {
    const asAdmin = await keyOf(["tenant_admin"], "dana@acme.example");
    const asApprover = await keyOf(["exemption_approver"], "dan@acme.example");
    const requested = await w.h.app.exemptions.request(asAdmin, "acme", w.request());
    await expect(
      w.h.app.exemptions.approve(asApprover, "acme", requested.id),
    ).resolves.toMatchObject({ status: "approved", approvedBy: asApprover.id });
  });
});
