// Threat: whoever holds one factor of a principal with no authenticator (the platform's password)
// binds one of their own that the tenant's decision never asked for, by posting the enrolment
// form the page did not offer: at a tenant whose MFA is proven at its IdP only, a TOTP or passkey
// of the attacker's becomes the principal's one platform method (waiting for a posture that
// accepts it, and blocking the real user's own first enrolment, which must now verify it); at a
// phishing-resistant tenant, a TOTP. A flow begins only the enrolment of a method its
// requirement accepts on the platform, as it goes only to an IdP its decision asks for.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateTestKeyPair } from "../../verifiers/saml/test-support/certificate.js";
import type { FlowBrowser } from "../application.js";
import { AppError } from "../errors.js";
import { openingOf } from "../test-support/flow-opening.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import { csrfOf } from "../test-support/platform-mfa-flows.js";
import type { FlowScreen } from "./flow-screens.js";

const RETURN = "https://app.example/signed-in";
const idp = generateTestKeyPair("idp.acme.example");

describe("enrolment in a flow whose decision does not ask for it", () => {
  let w: WebAuthnWorld;
  const browser: FlowBrowser = { cookie: "enrolment-offered-cookie-0123456789" };

  beforeEach(async () => {
    w = await openWebAuthnWorld();
    await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [RETURN] });
  });
  afterEach(() => w.close());

  /** A flow for dave (direct, no authenticator), on the platform's password, and its first screen. */
  async function davesFlow() {
    const started = await w.h.app.flows.create(w.service.acme, "acme", {
      principal: { id: "dave", population: "direct" },
      verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
      returnTo: RETURN,
    });
    const { flow } = started;
    const first = await w.h.app.flows.show("acme", flow, browser, { opening: openingOf(started) });
    return { flow, first, csrf: csrfOf(first) };
  }
  const enrolled = async () =>
    (await w.h.store.read((r) => r.authenticators.list("acme", "dave"))).length +
    (await w.h.store.read((r) => r.webauthnCredentials.list("acme", "dave"))).length;
  const notice = (screen: FlowScreen) =>
    "notice" in screen ? screen.notice?.code : `no notice on ${screen.kind}`;
  const offered = (screen: FlowScreen) =>
    "options" in screen ? screen.options.map((o) => o.kind) : [];

  it("begins no TOTP or passkey where MFA is proven at the IdP only", async () => {
    await w.h.app.idps.put(w.h.admin, "acme", "corp", {
      registration: {
        protocol: "saml",
        saml: {
          entityId: "https://idp.acme.example/metadata",
          ssoUrl: "https://idp.acme.example/sso",
          signingCertificates: [idp.certificateBase64],
        },
      },
      ifMatch: undefined,
    });
    await replacePolicy(w.h, "acme", { posture: "idp_mfa" });
    const { flow, first, csrf } = await davesFlow();
    expect(first.kind).toBe("challenge");
    expect(offered(first)).toEqual(["idp"]);

    const totp = await w.h.app.flows.act("acme", flow, browser, { kind: "enroll_totp", csrf });
    expect(totp.kind).not.toBe("enroll_totp");
    expect(notice(totp)).toBe("enrolment.not_allowed");
    const passkey = await w.h.app.flows.act("acme", flow, browser, {
      kind: "enroll_webauthn",
      csrf,
    });
    expect(passkey.kind).not.toBe("enroll_webauthn");
    expect(notice(passkey)).toBe("enrolment.not_allowed");
    const options = w.h.app.flows.webauthnOptions("acme", flow, browser, {
      csrf,
      purpose: "registration",
    });
    await expect(options).rejects.toBeInstanceOf(AppError);
    await expect(options).rejects.toMatchObject({ code: "flow.enrolment_not_allowed" });
    expect(await enrolled()).toBe(0);
  });

  it("begins no TOTP where only passkeys count (phishing-resistant); the passkey asked for still begins", async () => {
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant" });
    const { flow, first, csrf } = await davesFlow();
    expect(offered(first)).toEqual(["enroll_webauthn"]);

    const totp = await w.h.app.flows.act("acme", flow, browser, { kind: "enroll_totp", csrf });
    expect(totp.kind).not.toBe("enroll_totp");
    expect(notice(totp)).toBe("enrolment.not_allowed");
    expect(await enrolled()).toBe(0);

    // What the page offers still begins.
    const passkey = await w.h.app.flows.act("acme", flow, browser, {
      kind: "enroll_webauthn",
      csrf,
    });
    expect(passkey.kind).toBe("enroll_webauthn");
    const options = await w.h.app.flows.webauthnOptions("acme", flow, browser, {
      csrf,
      purpose: "registration",
    });
    expect(options.ceremony).toBeTruthy();
  });
});
