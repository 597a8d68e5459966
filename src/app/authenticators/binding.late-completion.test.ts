// Threat: binding a method of one's own by completing an enrolment begun earlier. Binding a
// further method on the principal's behalf needs a fresh MFA once the principal holds one
// (removal-rules.ts, SP 800-63B-4 §4.1.2); an enrolment begun while it held none needed nothing.
// Whoever held only the password then (a TOTP enrolment left pending, whose secret they kept, or
// a passkey ceremony still open) must not complete it after the principal bound a method of its
// own: that would bind theirs without the fresh MFA the same binding begun now needs, and with
// it pass every later fresh-MFA check (remove the principal's methods, replace its codes).
// Enrolments that the methods held at their start already allowed still complete later, within
// the enrolment's time (`totp.enrolmentTtlSeconds`, 10 minutes; a passkey ceremony's 5): past
// it, a TOTP enrolment is refused and removed (totp.enrolment-expiry.test.ts).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { INSTANCE_CLOCK_DRIFT_SECONDS } from "../ports.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";
import { outcomeOf } from "../test-support/totp-principals.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

const refused = { code: "authenticator.fresh_mfa_required" };

/** Begins a TOTP enrolment for alice and returns what its confirmation needs. */
async function beginTotp() {
  const begun = await w.h.app.authenticators.beginTotp(w.service.acme, "acme", "alice", {});
  return { id: begun.authenticator.id, secret: begun.secret };
}

const confirm = (pending: { id: string; secret: string }) =>
  outcomeOf(
    w.h.app.authenticators.confirmTotp(w.service.acme, "acme", "alice", pending.id, {
      code: oathtoolCode(pending.secret, w.h.clock.now()),
    }),
  );

const statuses = async () =>
  (await w.h.app.authenticators.list(w.service.acme, "acme", "alice")).map((a) => [
    a.kind,
    a.status,
  ]);

describe("a TOTP enrolment begun before the principal bound a method", () => {
  it("is not confirmed on the principal's behalf without a fresh MFA", async () => {
    // The attacker, with the password only, begins while alice holds no method.
    const pending = await beginTotp();
    w.h.clock.advance(60);
    // Alice registers a passkey; the attacker could no longer begin an enrolment now.
    const key = w.authenticator();
    await w.register(key, { name: "alice's key" });
    w.h.clock.advance(60);
    expect(await outcomeOf(beginTotp())).toEqual(refused);
    // Nor may the old enrolment be completed.
    expect(await confirm(pending)).toEqual(refused);
    expect(await statuses()).toEqual([
      ["totp", "pending"],
      ["webauthn", "active"],
    ]);
    const audit = await w.audit();
    expect(audit.map((e) => e.type)).not.toContain("authenticator.confirmed");
    // Refused before the code is looked at: nothing counted against anyone.
    expect(audit.map((e) => e.type)).not.toContain("authenticator.verification_failed");

    // Once the principal proves one it holds, the enrolment completes.
    await w.authenticate(key);
    expect(await confirm(pending)).toEqual({ code: "accepted" });
  });

  it("counts recovery codes generated since as a bound method", async () => {
    const pending = await beginTotp();
    w.h.clock.advance(60);
    await w.h.app.recoveryCodes.generate(w.service.acme, "acme", "alice");
    w.h.clock.advance(60);
    expect(await confirm(pending)).toEqual(refused);
  });

  it("is confirmed later, within its time, when it is the principal's first method", async () => {
    const pending = await beginTotp();
    w.h.clock.advance(540);
    expect(await confirm(pending)).toEqual({ code: "accepted" });
  });

  it("is not confirmed without a fresh MFA when another instance, its clock behind, recorded a method bound since", async () => {
    const pending = await beginTotp();
    // Alice generates recovery codes through an instance whose clock runs two minutes behind:
    // they are recorded as generated before the enrolment began.
    w.h.clock.advance(-120);
    await w.h.app.recoveryCodes.generate(w.service.acme, "acme", "alice");
    w.h.clock.advance(180);
    expect(await confirm(pending)).toEqual(refused);
  });

  it("is confirmed later, within its time, when the methods held at its start already allowed it", async () => {
    await w.register(w.authenticator());
    // Bound longer ago than the instances' clocks may drift apart.
    w.h.clock.advance(INSTANCE_CLOCK_DRIFT_SECONDS + 60);
    await provedMfaJustNow(w.h, "acme", "alice");
    const pending = await beginTotp();
    // The fresh MFA of the start has lapsed; no method was bound since; the enrolment's ten
    // minutes have not.
    w.h.clock.advance(540);
    expect(await confirm(pending)).toEqual({ code: "accepted" });
  });

  it("is not confirmed once its time has passed, though the methods held at its start allowed it", async () => {
    await w.register(w.authenticator());
    w.h.clock.advance(INSTANCE_CLOCK_DRIFT_SECONDS + 60);
    await provedMfaJustNow(w.h, "acme", "alice");
    // Begun with a fresh MFA, then abandoned; its secret kept by whoever photographed it.
    const pending = await beginTotp();
    w.h.clock.advance(21 * 86_400);
    expect(await confirm(pending)).toEqual({
      code: "authenticator.enrolment_expired",
      details: { expiresAt: expect.any(String) as unknown },
    });
    expect(await statuses()).toEqual([["webauthn", "active"]]);
  });

  it("is not confirmed once its time has passed when it is the principal's first method", async () => {
    const pending = await beginTotp();
    w.h.clock.advance(600);
    expect(await confirm(pending)).toMatchObject({ code: "authenticator.enrolment_expired" });
    expect(await statuses()).toEqual([]);
  });
});

describe("a passkey registration begun before the principal bound a method", () => {
  it("is not finished on the principal's behalf without a fresh MFA, and is audited", async () => {
    const begun = await w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "alice");
    w.h.clock.advance(60);
    // Alice enrols an authenticator app meanwhile.
    const alice = await beginTotp();
    expect(await confirm(alice)).toEqual({ code: "accepted" });
    w.h.clock.advance(60);
    const attacker = w.authenticator();
    expect(
      await outcomeOf(
        w.h.app.webauthn.finishRegistration(w.service.acme, "acme", "alice", begun.registration, {
          response: attacker.register(begun.options),
          name: "attacker's key",
        }),
      ),
    ).toMatchObject(refused);
    expect(await statuses()).toEqual([["totp", "active"]]);
    const failed = (await w.audit()).filter((e) => e.type === "webauthn.registration_failed");
    expect(failed.map((e) => e.payload)).toEqual([
      {
        principal: "alice",
        registration: begun.registration,
        reason: "authenticator.fresh_mfa_required",
      },
    ]);
  });

  it("is finished as before when it is the principal's first method", async () => {
    const begun = await w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "alice");
    w.h.clock.advance(240);
    const view = await w.h.app.webauthn.finishRegistration(
      w.service.acme,
      "acme",
      "alice",
      begun.registration,
      { response: w.authenticator().register(begun.options) },
    );
    expect(view.status).toBe("active");
  });
});
