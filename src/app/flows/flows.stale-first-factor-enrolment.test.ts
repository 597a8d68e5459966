// Threat: whoever holds a platform session but not the password (a stolen session cookie, a
// computer left signed in) has the platform start a step-up on the password it checked days ago,
// and binds their own TOTP or passkey to a principal that has none yet: then the principal's one
// method is theirs, which the real user must verify before enrolling their own. An enrolment
// follows a fresh sign-in (SP 800-63B-4 §4.1.2; core/challenge.ts): a first factor older than the
// requirement's reauthentication interval opens none, and the page sends the user back to sign
// in, as it does without any first factor.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { csrfOf, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";

const RETURN = "https://app.acme.example/signed-in";
const HOUR = 3_600_000;

describe("enrolment on the platform's password", () => {
  let h: Harness;
  let service: Caller;
  const browser: FlowBrowser = { cookie: "stale-first-factor-cookie-0123456789" };

  beforeEach(async () => {
    ({ h, service } = await openPlatformMfaTenant(RETURN));
    await h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
  });
  afterEach(() => h.close());

  /**
   * A flow for bob (no authenticator) on a password the platform checked `ago` ms before, and the
   * opening secret its URL carries.
   */
  const flowOnPasswordOf = async (ago: number) => {
    const started = await h.app.flows.create(service, "acme", {
      principal: { id: "bob" },
      verified: [
        {
          method: "password",
          source: "platform",
          at: new Date(h.clock.now().getTime() - ago).toISOString(),
        },
      ],
      returnTo: RETURN,
      state: "s",
    });
    return { flow: started.flow, opening: openingOf(started) };
  };

  it("opens none on a password checked three days ago: back to sign in", async () => {
    const { flow, opening } = await flowOnPasswordOf(72 * HOUR);
    const challenge = await h.app.flows.show("acme", flow, browser, { opening });
    expect(challenge).toMatchObject({
      kind: "challenge",
      options: [{ kind: "reauthenticate", location: `${RETURN}?error=reauthenticate&state=s` }],
    });
    const totp = await h.app.flows.act("acme", flow, browser, {
      kind: "enroll_totp",
      csrf: csrfOf(challenge),
    });
    expect(totp).toMatchObject({ kind: "challenge", notice: { code: "enrolment.not_allowed" } });
    const passkey = await h.app.flows.act("acme", flow, browser, {
      kind: "enroll_webauthn",
      csrf: csrfOf(challenge),
    });
    expect(passkey).toMatchObject({ kind: "challenge", notice: { code: "enrolment.not_allowed" } });
    const registration = h.app.flows.webauthnOptions("acme", flow, browser, {
      csrf: csrfOf(challenge),
      purpose: "registration",
    });
    await expect(registration).rejects.toMatchObject({ code: "flow.enrolment_not_allowed" });
    expect(await h.store.read((r) => r.authenticators.list("acme", "bob"))).toEqual([]);
  });

  it("opens one on a password checked within the reauthentication interval", async () => {
    const { flow, opening } = await flowOnPasswordOf(HOUR);
    const challenge = await h.app.flows.show("acme", flow, browser, { opening });
    expect(challenge).toMatchObject({
      kind: "challenge",
      options: [{ kind: "enroll_webauthn" }, { kind: "enroll_totp" }],
    });
    const totp = await h.app.flows.act("acme", flow, browser, {
      kind: "enroll_totp",
      csrf: csrfOf(challenge),
    });
    expect(totp.kind).toBe("enroll_totp");
  });
});
