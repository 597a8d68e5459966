// Threat: whoever holds only the password of a principal whose one method is a sheet of recovery
// codes enrols an authenticator of their own in a hosted flow, then signs in as them with MFA
// (account takeover). A recovery-code set is a method the principal holds (a look-up secret,
// counted by the enrolment API's binding rule): one of its codes must be verified in the flow
// before another method is bound there, however recently the principal proved MFA elsewhere.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { csrfOf, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";

const RETURN = "https://app.acme.example/signed-in";

describe("a principal holding only recovery codes", () => {
  let h: Harness;
  let service: Caller;
  let codes: readonly string[];
  const attacker: FlowBrowser = { cookie: "attacker-cookie-value-0123456789abcdef" };

  beforeEach(async () => {
    ({ h, service } = await openPlatformMfaTenant(RETURN));
    await h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
    // Bob's first method, bound on the platform's password alone (he held none).
    codes = (await h.app.recoveryCodes.generate(service, "acme", "bob")).codes;
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  /** A flow for bob on the platform's password alone, and the opening secret its URL carries. */
  const flowOnThePassword = async () => {
    const started = await h.app.flows.create(service, "acme", {
      principal: { id: "bob" },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
    });
    return { flow: started.flow, opening: openingOf(started) };
  };

  it("is not offered enrolment on the password alone, even just after bob proved MFA elsewhere", async () => {
    // Bob signs in on another device with one of his codes: a fresh MFA of the principal.
    await h.app.recoveryCodes.verify(service, "acme", "bob", { code: codes[0] ?? "" });
    const { flow, opening } = await flowOnThePassword();
    const challenge = await h.app.flows.show("acme", flow, attacker, { opening });
    expect(challenge).toMatchObject({
      kind: "challenge",
      options: [{ kind: "verify_recovery_code" }],
    });
    const enrolment = await h.app.flows.act("acme", flow, attacker, {
      kind: "enroll_totp",
      csrf: csrfOf(challenge),
    });
    expect(enrolment).toMatchObject({
      kind: "challenge",
      notice: { code: "enrolment.not_allowed" },
    });
    const registration = h.app.flows.webauthnOptions("acme", flow, attacker, {
      csrf: csrfOf(challenge),
      purpose: "registration",
    });
    await expect(registration).rejects.toMatchObject({ code: "flow.enrolment_not_allowed" });
    expect(await h.store.read((r) => r.authenticators.list("acme", "bob"))).toEqual([]);
  });

  it("is offered enrolment once one of the codes is verified in the flow", async () => {
    const { flow, opening } = await flowOnThePassword();
    const challenge = await h.app.flows.show("acme", flow, attacker, { opening });
    const verified = await h.app.flows.act("acme", flow, attacker, {
      kind: "verify_recovery_code",
      csrf: csrfOf(challenge),
      code: codes[1] ?? "",
    });
    expect(verified.kind).toBe("redirect");
    const enrolment = await h.app.flows.act("acme", flow, attacker, {
      kind: "enroll_totp",
      csrf: csrfOf(challenge),
    });
    expect(enrolment).toMatchObject({ kind: "enroll_totp" });
  });
});
