// Threat (seed 001): a login several people share, excused from MFA. The exemption category
// `shared_login` is refused by name, but an administrator could file the same login's exemption
// under another category. A principal marked as a shared login is never excused, whatever the
// category; and the administrator who asks for exemptions cannot lift the mark.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, ExemptionRequest } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { enrolTotp } from "../test-support/totp-principals.js";
import { replacePolicy } from "../test-support/replace-policy.js";

const DAY = 86_400_000;

describe("principals marked as a shared login", () => {
  let h: Harness;
  let tenantAdmin: Caller;
  let approver: Caller;
  let service: Caller;
  const at = (days: number) => new Date(h.clock.now().getTime() + days * DAY).toISOString();
  const request = (principal = "partner-admin"): ExemptionRequest => ({
    principal,
    category: "temporary_access",
    justification: "The partner's tool is being set up",
    owner: "it-helpdesk",
    startsAt: at(0),
    expiresAt: at(5),
    reviewAt: at(3),
  });
  const signIn = (principal = "partner-admin") =>
    h.app.decisions.decide(service, "acme", {
      principal: { id: principal },
      evidence: {
        events: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      },
    });

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    tenantAdmin = await h.caller(["tenant_admin"], ["acme"]);
    approver = await h.caller(["exemption_approver"], ["acme"]);
    service = await h.caller(["platform_service"], ["acme"]);
    await replacePolicy(h, "acme", { posture: "platform_mfa" });
  });
  afterEach(() => h.close());

  it("refuses any exemption for a shared login, whatever its category", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: true,
    });
    for (const category of ["temporary_access", "break_glass", "legacy_integration"] as const) {
      await expect(
        h.app.exemptions.request(tenantAdmin, "acme", { ...request(), category }),
      ).rejects.toMatchObject({ code: "exemption.shared_login_refused" });
    }
  });

  /**
   * Marks the principal as a shared login in the store directly, as marks made before the mark
   * revoked open exemptions left it: any exemption it had stays as it was.
   */
  const markedLongAgo = (principal: string) =>
    h.store.transaction(async ({ principals }) => {
      const record = await principals.get("acme", principal);
      if (record === undefined) throw new Error(`no principal ${principal}`);
      await principals.upsert({ ...record, sharedLogin: true });
    });

  it("stops an exemption granted before the mark from letting the login through: the mark revokes it", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", { population: "direct" });
    const requested = await h.app.exemptions.request(tenantAdmin, "acme", request());
    await h.app.exemptions.approve(approver, "acme", requested.id);
    expect((await signIn()).outcome).toBe("allow");

    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: true,
    });
    const decided = await signIn();
    expect(decided.outcome).toBe("challenge");
    expect(decided.exemption).toBeNull();
    expect((await h.app.exemptions.get(tenantAdmin, "acme", requested.id)).status).toBe("revoked");
  });

  it("refuses an exemption still approved on a login marked before marks revoked them", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", { population: "direct" });
    const requested = await h.app.exemptions.request(tenantAdmin, "acme", request());
    await h.app.exemptions.approve(approver, "acme", requested.id);
    await markedLongAgo("partner-admin");
    const decided = await signIn();
    expect(decided.outcome).toBe("challenge");
    expect(decided.exemption).toBeNull();
    expect(decided.reasons.map((r) => r.code)).toContain("exemption.shared_login_refused");
  });

  it("revokes the login's open exemptions when it is marked, each audited, and leaves the rest", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", { population: "direct" });
    await h.app.principals.upsert(tenantAdmin, "acme", "vendor", { population: "direct" });
    const approve = async (principal: string, exemption: ExemptionRequest) => {
      const requested = await h.app.exemptions.request(tenantAdmin, "acme", {
        ...exemption,
        principal,
      });
      return h.app.exemptions.approve(approver, "acme", requested.id);
    };
    const ended = await approve("partner-admin", {
      ...request(),
      expiresAt: at(1),
      reviewAt: at(1),
    });
    h.clock.advance((2 * DAY) / 1000);
    const approved = await approve("partner-admin", request());
    const pending = await h.app.exemptions.request(tenantAdmin, "acme", {
      ...request(),
      startsAt: at(6),
      expiresAt: at(8),
      reviewAt: at(7),
    });
    const refused = await h.app.exemptions.request(tenantAdmin, "acme", request());
    await h.app.exemptions.reject(approver, "acme", refused.id, {
      reason: "Use the vendor portal",
    });
    const others = await approve("vendor", request("vendor"));

    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: true,
    });

    const status = async (id: string) =>
      (await h.app.exemptions.get(tenantAdmin, "acme", id)).status;
    expect(await status(approved.id)).toBe("revoked");
    expect(await status(pending.id)).toBe("revoked");
    expect(await h.app.exemptions.get(tenantAdmin, "acme", approved.id)).toMatchObject({
      decidedBy: tenantAdmin.id,
      decidedAt: h.clock.now().toISOString(),
      approvedBy: approver.id,
    });
    // What ended or was refused stays as it was; another principal's is not this login's.
    expect(await status(ended.id)).toBe("approved");
    expect(await status(refused.id)).toBe("rejected");
    expect(await status(others.id)).toBe("approved");

    const events = await h.app.audit.list(h.admin, "acme", {}, { limit: 200 });
    const last = events.items.slice(-3);
    expect(last.map((e) => e.type)).toEqual([
      "principal.updated",
      "exemption.revoked",
      "exemption.revoked",
    ]);
    expect(last[0]?.payload).toMatchObject({
      id: "partner-admin",
      sharedLogin: true,
      revokedExemptions: [approved.id, pending.id],
    });
    for (const [i, id] of [approved.id, pending.id].entries()) {
      expect(last[i + 1]).toMatchObject({
        actor: tenantAdmin.id,
        payload: {
          id,
          principal: "partner-admin",
          reason: expect.stringContaining("shared login") as unknown,
        },
      });
    }
    expect(await h.app.audit.verify(h.admin, { tenant: "acme" })).toMatchObject({ ok: true });

    // Marked already: nothing is left to revoke, and nothing is said of it.
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: true,
    });
    const again = await h.app.audit.list(h.admin, "acme", {}, { limit: 200 });
    expect(again.items.slice(events.items.length).map((e) => e.type)).toEqual([
      "principal.updated",
    ]);
    expect(again.items.at(-1)?.payload).not.toHaveProperty("revokedExemptions");
  });

  it("refuses to approve a request filed before the login was marked", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", { population: "direct" });
    const revoked = await h.app.exemptions.request(tenantAdmin, "acme", request());
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: true,
    });
    await expect(h.app.exemptions.approve(approver, "acme", revoked.id)).rejects.toMatchObject({
      code: "exemption.invalid_state",
    });
    // A request the mark did not revoke (made before marks revoked them) is refused by name.
    await h.app.principals.upsert(tenantAdmin, "acme", "vendor", { population: "direct" });
    const standing = await h.app.exemptions.request(tenantAdmin, "acme", request("vendor"));
    await markedLongAgo("vendor");
    await expect(h.app.exemptions.approve(approver, "acme", standing.id)).rejects.toMatchObject({
      code: "exemption.shared_login_refused",
    });
  });

  it("keeps a shared login in MFA: only a platform administrator makes it a guest or an integration", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: true,
    });
    for (const population of ["guest", "integration"] as const) {
      await expect(
        h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", { population }),
      ).rejects.toMatchObject({ code: "principal.shared_login_locked" });
    }
    expect((await signIn()).outcome).toBe("challenge");
    const sso = await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "sso",
    });
    expect(sso).toMatchObject({ population: "sso", sharedLogin: true });
    const guest = await h.app.principals.upsert(h.admin, "acme", "partner-admin", {
      population: "guest",
    });
    expect(guest).toMatchObject({ population: "guest", sharedLogin: true });
  });

  it("counts a shared login's exemption for nothing when its last method would be removed", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", { population: "direct" });
    const requested = await h.app.exemptions.request(tenantAdmin, "acme", request());
    await h.app.exemptions.approve(approver, "acme", requested.id);
    const enrolled = await enrolTotp(h, service, "acme", "partner-admin");
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: true,
    });
    await expect(
      h.app.authenticators.remove(tenantAdmin, "acme", "partner-admin", enrolled.id),
    ).rejects.toMatchObject({ code: "authenticator.last_method" });
  });

  it("keeps the mark when an update leaves it out, and only a platform administrator lifts it", async () => {
    await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: true,
    });
    const renamed = await h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
      population: "direct",
      displayName: "Partner admin (Initech)",
    });
    expect(renamed.sharedLogin).toBe(true);
    await expect(
      h.app.principals.upsert(tenantAdmin, "acme", "partner-admin", {
        population: "direct",
        sharedLogin: false,
      }),
    ).rejects.toMatchObject({ code: "principal.shared_login_locked" });
    expect((await h.app.principals.get(tenantAdmin, "acme", "partner-admin")).sharedLogin).toBe(
      true,
    );

    const lifted = await h.app.principals.upsert(h.admin, "acme", "partner-admin", {
      population: "direct",
      sharedLogin: false,
    });
    expect(lifted.sharedLogin).toBeUndefined();
    const events = await h.app.audit.list(h.admin, "acme", { type: "principal.updated" }, {});
    expect(events.items.at(-1)).toMatchObject({
      actor: h.admin.id,
      payload: { id: "partner-admin", sharedLogin: false, previousSharedLogin: true },
    });
  });
});
