import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../context.js";
import type { Caller, ExemptionRequest } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";

const DAY = 86_400;
const at = (h: Harness, days: number) =>
  new Date(h.clock.now().getTime() + days * DAY * 1000).toISOString();

describe("exemptions", () => {
  let h: Harness;
  let requester: Caller;
  let approver: Caller;
  const request = (overrides: Partial<ExemptionRequest> = {}): ExemptionRequest => ({
    principal: "alice",
    category: "temporary_access",
    justification: "Phone lost; replacement arrives Friday",
    owner: "it-helpdesk",
    startsAt: at(h, 0),
    expiresAt: at(h, 5),
    reviewAt: at(h, 3),
    ...overrides,
  });

  beforeEach(async () => {
    h = await openHarness({
      settings: {
        exemptions: { ...DEFAULT_SETTINGS.exemptions, maxActivePerTenant: 2 },
      },
    });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    requester = await h.caller(["tenant_admin"], ["acme"]);
    approver = await h.caller(["exemption_approver"], ["acme"]);
    for (const id of ["alice", "bob", "carol"]) {
      await h.app.principals.upsert(requester, "acme", id, { population: "direct" });
    }
  });
  afterEach(() => h.close());

  it("goes from requested to approved by another person", async () => {
    const requested = await h.app.exemptions.request(requester, "acme", request());
    expect(requested.status).toBe("requested");
    const approved = await h.app.exemptions.approve(approver, "acme", requested.id);
    expect(approved).toMatchObject({
      status: "approved",
      approvedBy: approver.id,
      requestedBy: requester.id,
    });
  });

  it("refuses shared-login exemptions outright, explaining why", async () => {
    await expect(
      h.app.exemptions.request(requester, "acme", request({ category: "shared_login" })),
    ).rejects.toMatchObject({
      code: "exemption.shared_login_refused",
      message: expect.stringContaining("own account"),
    });
  });

  it("never lets the requester approve their own request", async () => {
    const both = await h.caller(["tenant_admin", "exemption_approver"], ["acme"]);
    const requested = await h.app.exemptions.request(both, "acme", request());
    await expect(h.app.exemptions.approve(both, "acme", requested.id)).rejects.toMatchObject({
      code: "exemption.self_approval",
    });
  });

  describe("separation of duties compares holders, not keys", () => {
    /** A caller through a real key held by `holder`, as a platform admin would issue it. */
    const keyOf = async (roles: Caller["roles"], holder?: string): Promise<Caller> => {
      const { secret } = await h.app.apiKeys.create(h.admin, {
        name: roles.join("+"),
        roles,
        tenants: ["acme"],
        ...(holder === undefined ? {} : { holder }),
      });
      return h.app.authenticate(secret);
    };

    it("refuses an approval through another key of the requester's holder", async () => {
      const asAdmin = await keyOf(["tenant_admin"], "dana@acme.example");
      const asApprover = await keyOf(["exemption_approver"], "dana@acme.example");
      const requested = await h.app.exemptions.request(asAdmin, "acme", request());
      await expect(
        h.app.exemptions.approve(asApprover, "acme", requested.id),
      ).rejects.toMatchObject({ code: "exemption.self_approval" });
      expect((await h.app.exemptions.get(asAdmin, "acme", requested.id)).status).toBe("requested");
    });

    it("treats holders that differ only in case or width as one party", async () => {
      const asAdmin = await keyOf(["tenant_admin"], "Dana@ACME.example");
      const asApprover = await keyOf(["exemption_approver"], "ｄana@acme.example");
      const requested = await h.app.exemptions.request(asAdmin, "acme", request());
      await expect(
        h.app.exemptions.approve(asApprover, "acme", requested.id),
      ).rejects.toMatchObject({ code: "exemption.self_approval" });
    });

    it("lets another holder approve", async () => {
      const asAdmin = await keyOf(["tenant_admin"], "dana@acme.example");
      const asApprover = await keyOf(["exemption_approver"], "erin@acme.example");
      const requested = await h.app.exemptions.request(asAdmin, "acme", request());
      const approved = await h.app.exemptions.approve(asApprover, "acme", requested.id);
      expect(approved).toMatchObject({ status: "approved", approvedBy: asApprover.id });
    });

    it("counts a key without a holder as a party of its own", async () => {
      const asAdmin = await keyOf(["tenant_admin"]);
      const asApprover = await keyOf(["exemption_approver"], asAdmin.id);
      const requested = await h.app.exemptions.request(asAdmin, "acme", request());
      // A holder naming the requester's key id is that key's party too.
      await expect(
        h.app.exemptions.approve(asApprover, "acme", requested.id),
      ).rejects.toMatchObject({ code: "exemption.self_approval" });
      const unrelated = await keyOf(["exemption_approver"]);
      await expect(
        h.app.exemptions.approve(unrelated, "acme", requested.id),
      ).resolves.toMatchObject({ status: "approved" });
    });
  });

  it("requires an expiry", async () => {
    const { expiresAt: _omitted, ...noExpiry } = request();
    await expect(
      h.app.exemptions.request(requester, "acme", noExpiry as ExemptionRequest),
    ).rejects.toMatchObject({
      code: "exemption.expiry_required",
    });
  });

  it("caps the duration at 90 days", async () => {
    await expect(
      h.app.exemptions.request(
        requester,
        "acme",
        request({ expiresAt: at(h, 91), reviewAt: at(h, 30) }),
      ),
    ).rejects.toMatchObject({ code: "exemption.too_long" });
    await expect(
      h.app.exemptions.request(
        requester,
        "acme",
        request({ expiresAt: at(h, 90), reviewAt: at(h, 30) }),
      ),
    ).resolves.toBeDefined();
  });

  it("caps break-glass at 7 days", async () => {
    await expect(
      h.app.exemptions.request(
        requester,
        "acme",
        request({ category: "break_glass", expiresAt: at(h, 8), reviewAt: at(h, 1) }),
      ),
    ).rejects.toMatchObject({ code: "exemption.too_long" });
  });

  it("caps renewals in a row, so an exemption cannot become permanent", async () => {
    // Back to back, five days each; the whole rule: exemptions.renewal-cap.test.ts.
    const days = (from: number) => ({
      startsAt: at(h, from),
      expiresAt: at(h, from + 5),
      reviewAt: at(h, from + 1),
    });
    let previous = await h.app.exemptions.request(requester, "acme", request());
    await h.app.exemptions.approve(approver, "acme", previous.id);
    for (let renewal = 1; renewal <= 2; renewal++) {
      previous = await h.app.exemptions.request(
        requester,
        "acme",
        request({ ...days(5 * renewal), renewalOf: previous.id }),
      );
      await h.app.exemptions.approve(approver, "acme", previous.id);
    }
    await expect(
      h.app.exemptions.request(requester, "acme", request({ ...days(15), renewalOf: previous.id })),
    ).rejects.toMatchObject({
      code: "exemption.renewal_limit",
    });
  });

  it("caps the number of active exemptions per tenant", async () => {
    for (const principal of ["alice", "bob"]) {
      const e = await h.app.exemptions.request(requester, "acme", request({ principal }));
      await h.app.exemptions.approve(approver, "acme", e.id);
    }
    const third = await h.app.exemptions.request(
      requester,
      "acme",
      request({ principal: "carol" }),
    );
    await expect(h.app.exemptions.approve(approver, "acme", third.id)).rejects.toMatchObject({
      code: "exemption.tenant_limit",
    });
  });

  it("refuses an exemption for an unregistered principal", async () => {
    await expect(
      h.app.exemptions.request(requester, "acme", request({ principal: "mallory" })),
    ).rejects.toMatchObject({
      code: "principal.unknown",
    });
  });

  it("revokes an approved exemption, and the revocation is audited", async () => {
    const e = await h.app.exemptions.request(requester, "acme", request());
    await h.app.exemptions.approve(approver, "acme", e.id);
    await h.app.exemptions.revoke(requester, "acme", e.id, { reason: "phone found" });
    const audit = await h.app.audit.list(h.admin, "acme", {}, {});
    expect(audit.items.map((x) => x.type)).toEqual(
      expect.arrayContaining(["exemption.requested", "exemption.approved", "exemption.revoked"]),
    );
    await expect(h.app.exemptions.approve(approver, "acme", e.id)).rejects.toMatchObject({
      code: "exemption.invalid_state",
    });
  });

  it("lists with filters", async () => {
    const e = await h.app.exemptions.request(requester, "acme", request());
    await h.app.exemptions.request(requester, "acme", request({ principal: "bob" }));
    await h.app.exemptions.approve(approver, "acme", e.id);
    const approved = await h.app.exemptions.list(approver, "acme", { status: "approved" }, {});
    expect(approved.items.map((x) => x.principal)).toEqual(["alice"]);
    const bobs = await h.app.exemptions.list(approver, "acme", { principal: "bob" }, {});
    expect(bobs.items.map((x) => x.status)).toEqual(["requested"]);
  });
});
