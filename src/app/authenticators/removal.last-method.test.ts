// Threat: MFA silently switched off. Removing a principal's last active method leaves a
// principal whom policy requires to prove MFA with nothing to prove it with: the next sign-in
// either locks them out or, worse, pushes operators to weaken policy. While the real engine,
// given the principal's policy, mandates, population and exemptions and a password alone, does
// not `allow`, nobody (administrators included) removes the last active method; they enrol
// another method first or grant an exemption.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  verifyWith,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import { countActiveMethods } from "./removal-rules.js";

describe("removing the last active method", () => {
  let h: Harness;
  let service: Caller;
  let tenantAdmin: Caller;
  let phone: EnrolledTotp;
  const remove = (caller: Caller, id: string) =>
    outcomeOf(h.app.authenticators.remove(caller, "acme", "alice", id));
  const setPolicy = async (posture: "mfa_optional" | "platform_mfa") => {
    const current = await h.app.policies.current(h.admin, "acme");
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture },
      rationale: `Posture ${posture}`,
      ifMatch: current.record.version,
    });
  };

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    tenantAdmin = await h.caller(["tenant_admin"], ["acme"]);
    phone = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(30);
  });
  afterEach(() => h.close());

  it("is refused to everyone while the tenant policy requires MFA, saying what to do", async () => {
    await verifyWith(h, service, phone, rightCode(h, phone));
    for (const caller of [service, tenantAdmin, h.admin]) {
      const refused = await remove(caller, phone.id);
      expect(refused).toEqual({
        code: "authenticator.last_method",
        details: { outcome: "challenge" },
      });
    }
    await expect(h.app.authenticators.remove(h.admin, "acme", "alice", phone.id)).rejects.toThrow(
      /enrol another method first, or grant an exemption/,
    );
    expect(await h.app.authenticators.list(h.admin, "acme", "alice")).toHaveLength(1);
  });

  it("is allowed once another method is active, and pending ones do not count", async () => {
    await provedMfaJustNow(h, "acme", "alice");
    const pending = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    expect(await h.store.transaction((r) => countActiveMethods(r, "acme", "alice"))).toBe(1);
    expect((await remove(tenantAdmin, phone.id)).code).toBe("authenticator.last_method");
    await h.app.authenticators.confirmTotp(service, "acme", "alice", pending.authenticator.id, {
      code: rightCode(h, { ...phone, secret: pending.secret }),
    });
    expect(await h.store.transaction((r) => countActiveMethods(r, "acme", "alice"))).toBe(2);
    expect((await remove(tenantAdmin, phone.id)).code).toBe("accepted");
    expect((await remove(tenantAdmin, pending.authenticator.id)).code).toBe(
      "authenticator.last_method",
    );
  });

  it("is allowed when the tenant makes MFA optional, unless a mandate requires it", async () => {
    await setPolicy("mfa_optional");
    await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: true },
      rationale: "Emergency uplift",
    });
    expect((await remove(tenantAdmin, phone.id)).code).toBe("authenticator.last_method");
    await h.app.mandates.retire(h.admin, "uplift", { rationale: "Threat over", ifMatch: 1 });
    expect((await remove(tenantAdmin, phone.id)).code).toBe("accepted");
  });

  it("is allowed while the principal holds an approved, active exemption", async () => {
    const approver = await h.caller(["exemption_approver"], ["acme"]);
    const day = (n: number) => new Date(h.clock.now().getTime() + n * 86_400_000).toISOString();
    const requested = await h.app.exemptions.request(tenantAdmin, "acme", {
      principal: "alice",
      category: "temporary_access",
      justification: "Phone replaced; the new one is enrolled tomorrow",
      owner: "it-helpdesk",
      startsAt: day(0),
      expiresAt: day(2),
      reviewAt: day(1),
    });
    expect((await remove(tenantAdmin, phone.id)).code).toBe("authenticator.last_method");
    await h.app.exemptions.approve(approver, "acme", requested.id);
    expect((await remove(tenantAdmin, phone.id)).code).toBe("accepted");
  });

  it("is allowed for a principal to whom policy does not apply (a guest)", async () => {
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "guest" });
    expect((await remove(tenantAdmin, phone.id)).code).toBe("accepted");
  });
});
