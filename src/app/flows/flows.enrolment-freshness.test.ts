// Threat (availability of the step-up): a user who verified an authenticator in a flow, then took
// more than the enrolment API's fresh-MFA window (five minutes) to add the passkey the step-up
// asks for, is offered an enrolment that the API then refuses (authenticator.fresh_mfa_required)
// with no way left in the flow to verify again: stuck until the flow expires. The page must offer
// the enrolment only while the verification it rests on is fresh, and else ask for it again.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import { VERIFICATION_THROTTLE_DEFAULTS } from "../authenticators/verification-throttle.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { csrfOf, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { enrolTotp, rightCode, type EnrolledTotp } from "../test-support/totp-principals.js";

const RETURN = "https://app.acme.example/signed-in";
const FRESH = VERIFICATION_THROTTLE_DEFAULTS.freshMfaSeconds;

describe("enrolling in a flow after a verification in it", () => {
  let h: Harness;
  let service: Caller;
  let totp: EnrolledTotp;
  const browser: FlowBrowser = { cookie: "browser-one-cookie-value-0123456789" };

  beforeEach(async () => {
    ({ h, service } = await openPlatformMfaTenant(RETURN));
    totp = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  /** A step-up flow asking for a passkey, whose TOTP was verified in it. */
  async function verifiedStepUp() {
    const started = await h.app.flows.create(service, "acme", {
      principal: { id: "alice" },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
      stepUp: { phishingResistant: true },
      ttlSeconds: 1800,
    });
    const { flow } = started;
    const first = await h.app.flows.show("acme", flow, browser, { opening: openingOf(started) });
    await h.app.flows.act("acme", flow, browser, {
      kind: "verify_totp",
      csrf: csrfOf(first),
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    return { flow, csrf: csrfOf(first) };
  }

  it("offers the passkey and its registration while the verification is fresh", async () => {
    const { flow, csrf } = await verifiedStepUp();
    h.clock.advance(FRESH - 10);
    expect(await h.app.flows.show("acme", flow, browser)).toMatchObject({
      kind: "challenge",
      options: [{ kind: "enroll_webauthn" }],
    });
    const options = await h.app.flows.webauthnOptions("acme", flow, browser, {
      csrf,
      purpose: "registration",
    });
    expect(options.ceremony).toEqual(expect.any(String));
  });

  it("asks for the verification again once it is older than the enrolment API accepts", async () => {
    const { flow, csrf } = await verifiedStepUp();
    h.clock.advance(FRESH + 10);
    expect(await h.app.flows.show("acme", flow, browser)).toMatchObject({
      kind: "challenge",
      options: [{ kind: "verify_totp" }],
    });
    const registration = h.app.flows.webauthnOptions("acme", flow, browser, {
      csrf,
      purpose: "registration",
    });
    await expect(registration).rejects.toMatchObject({ code: "flow.enrolment_not_allowed" });
    // Verified again, the passkey is offered again, and its registration begins.
    await h.app.flows.act("acme", flow, browser, {
      kind: "verify_totp",
      csrf,
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    expect(await h.app.flows.show("acme", flow, browser)).toMatchObject({
      kind: "challenge",
      options: [{ kind: "enroll_webauthn" }],
    });
    const begun = await h.app.flows.webauthnOptions("acme", flow, browser, {
      csrf,
      purpose: "registration",
    });
    expect(begun.ceremony).toEqual(expect.any(String));
  });
});
