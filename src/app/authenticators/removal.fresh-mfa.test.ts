// Threat: a stolen session. Whoever holds a principal's session at the platform can make the
// platform's backend remove the principal's authenticators (and, with a confirmed authenticator
// of their own, take the account over). Removal on the principal's behalf needs a fresh MFA: a
// successful verification of an enrolled authenticator within the last 5 minutes, recorded
// server-side. Confirming a newly enrolled authenticator is not one. Administrators, who act for
// people who lost their device, need none; the audit names the role that removed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { INSTANCE_CLOCK_DRIFT_SECONDS } from "../ports.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  verifyWith,
  wrongCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import { VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

describe("removing an authenticator on the principal's behalf", () => {
  let h: Harness;
  let service: Caller;
  let phone: EnrolledTotp;
  let tablet: EnrolledTotp;
  const remove = (caller: Caller, totp: EnrolledTotp) =>
    outcomeOf(h.app.authenticators.remove(caller, "acme", "alice", totp.id));
  const removals = async () =>
    (await h.app.audit.list(h.admin, "acme", { type: "authenticator.removed" }, {})).items.map(
      (e) => [e.actor, e.payload],
    );

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    phone = await enrolTotp(h, service, "acme", "alice");
    await provedMfaJustNow(h, "acme", "alice");
    const second = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    tablet = { ...phone, id: second.authenticator.id, secret: second.secret };
    await h.app.authenticators.confirmTotp(service, "acme", "alice", tablet.id, {
      code: rightCode(h, tablet),
    });
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  it("is refused without a verification, and after a failed one", async () => {
    expect(await remove(service, tablet)).toEqual({ code: "authenticator.fresh_mfa_required" });
    await verifyWith(h, service, phone, wrongCode(h, phone));
    expect(await remove(service, tablet)).toEqual({ code: "authenticator.fresh_mfa_required" });
    expect(await h.app.authenticators.list(service, "acme", "alice")).toHaveLength(2);
    expect(await removals()).toEqual([]);
  });

  it("is allowed within 5 minutes of a successful verification, audited with it", async () => {
    expect((await verifyWith(h, service, phone, rightCode(h, phone))).code).toBe("accepted");
    const verifiedAt = h.clock.now().toISOString();
    h.clock.advance(VERIFICATION_THROTTLE_DEFAULTS.freshMfaSeconds);
    expect(await remove(service, tablet)).toEqual({ code: "accepted" });
    expect(await removals()).toEqual([
      [
        service.id,
        {
          principal: "alice",
          authenticator: tablet.id,
          kind: "totp",
          status: "active",
          role: "platform_service",
          sessionsEnded: 0,
          flowsReset: 0,
          codesWithdrawn: 0,
          freshMfaAt: verifiedAt,
        },
      ],
    ]);
  });

  it("is refused once the verification is older than 5 minutes", async () => {
    await verifyWith(h, service, phone, rightCode(h, phone));
    h.clock.advance(VERIFICATION_THROTTLE_DEFAULTS.freshMfaSeconds + 1);
    expect(await remove(service, tablet)).toEqual({ code: "authenticator.fresh_mfa_required" });
  });

  it("does not count confirming a newly enrolled authenticator as a fresh MFA", async () => {
    // The phone was bound longer ago than the instances' clocks may drift apart, so the new
    // enrolment completes on the fresh MFA of its start (binding.late-completion.test.ts).
    h.clock.advance(INSTANCE_CLOCK_DRIFT_SECONDS + 1);
    await provedMfaJustNow(h, "acme", "alice");
    const added = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    h.clock.advance(1);
    await h.app.authenticators.confirmTotp(service, "acme", "alice", added.authenticator.id, {
      code: rightCode(h, { ...phone, secret: added.secret }),
    });
    expect(await remove(service, phone)).toEqual({ code: "authenticator.fresh_mfa_required" });
  });

  // The way around the rule above: bind a method of one's own, then prove it. Whoever holds only
  // the principal's session must not get that far.
  it("refuses to bind another method without a fresh MFA, so none of one's own can prove it", async () => {
    const refused = { code: "authenticator.fresh_mfa_required" };
    expect(await outcomeOf(h.app.authenticators.beginTotp(service, "acme", "alice", {}))).toEqual(
      refused,
    );
    expect(await outcomeOf(h.app.recoveryCodes.generate(service, "acme", "alice"))).toEqual(
      refused,
    );
    expect(await outcomeOf(h.app.webauthn.beginRegistration(service, "acme", "alice"))).toEqual(
      refused,
    );
    // Having proved one it holds, the principal binds another.
    h.clock.advance(30);
    expect((await verifyWith(h, service, phone, rightCode(h, phone))).code).toBe("accepted");
    expect(await outcomeOf(h.app.authenticators.beginTotp(service, "acme", "alice", {}))).toEqual({
      code: "accepted",
    });
  });

  it("does not count another principal's verification", async () => {
    const bob = await enrolTotp(h, service, "acme", "bob");
    h.clock.advance(30);
    expect((await verifyWith(h, service, bob, rightCode(h, bob))).code).toBe("accepted");
    expect(await remove(service, tablet)).toEqual({ code: "authenticator.fresh_mfa_required" });
  });

  it("withdraws a pending enrolment freely", async () => {
    await provedMfaJustNow(h, "acme", "alice");
    const pending = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    h.clock.advance(1);
    expect(await remove(service, { ...phone, id: pending.authenticator.id })).toEqual({
      code: "accepted",
    });
  });

  it("lets administrators remove without a fresh MFA, audited with their role", async () => {
    const tenantAdmin = await h.caller(["tenant_admin"], ["acme"]);
    expect(await remove(tenantAdmin, tablet)).toEqual({ code: "accepted" });
    await provedMfaJustNow(h, "acme", "alice");
    const third = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    await h.app.authenticators.confirmTotp(service, "acme", "alice", third.authenticator.id, {
      code: rightCode(h, { ...phone, secret: third.secret }),
    });
    expect(await remove(h.admin, { ...phone, id: third.authenticator.id })).toEqual({
      code: "accepted",
    });
    expect(
      (await removals()).map(([actor, payload]) => [actor, (payload as { role: string }).role]),
    ).toEqual([
      [tenantAdmin.id, "tenant_admin"],
      [h.admin.id, "platform_admin"],
    ]);
  });
});
