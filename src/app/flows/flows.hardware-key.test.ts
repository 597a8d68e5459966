// Threat: a hosted flow that needs AAL3 (a hardware key) letting a passkey through that no
// attestation proved, or one the user can never satisfy because the registration never asks for
// the attestation that proves hardware. The flow's passkey registration asks for `direct`
// attestation exactly when the decision wants a device-bound key.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import { openingOf } from "../test-support/flow-opening.js";
import { codeOf, csrfOf } from "../test-support/platform-mfa-flows.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";
import { replacePolicy } from "../test-support/replace-policy.js";

const RETURN = "https://app.example/signed-in";
const MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
const browser: FlowBrowser = { cookie: "hardware-key-browser-cookie-0123456789" };

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
});

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld({ attestationRoots: [vendor.rootPem] });
  await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [RETURN] });
});
afterEach(() => w.close());

async function requireAal(minAal: 2 | 3) {
  await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal } });
}

/** A flow for bob up to its passkey registration's options. */
async function registrationOf() {
  const started = await w.h.app.flows.create(w.service.acme, "acme", {
    principal: { id: "bob" },
    verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
    returnTo: RETURN,
  });
  const { flow } = started;
  const screen = await w.h.app.flows.show("acme", flow, browser, { opening: openingOf(started) });
  const begun = await w.h.app.flows.webauthnOptions("acme", flow, browser, {
    csrf: csrfOf(screen),
    purpose: "registration",
  });
  return { flow, screen, begun };
}

describe("a hosted flow that needs a hardware key", () => {
  it("asks for a device-bound key and for its attestation, and an attested key completes it at AAL3", async () => {
    await requireAal(3);
    const { flow, screen, begun } = await registrationOf();
    expect(screen).toMatchObject({
      kind: "challenge",
      options: [{ kind: "enroll_webauthn", deviceBound: true }],
    });
    expect(begun.options.attestation).toBe("direct");
    const key = w.authenticator({
      aaguid: MODEL,
      attestation: await vendor.batch({ aaguid: MODEL }),
    });
    await w.h.app.flows.act("acme", flow, browser, {
      kind: "register_webauthn",
      csrf: csrfOf(screen),
      ceremony: begun.ceremony,
      response: key.register(begun.options),
    });
    const done = await w.h.app.flows.show("acme", flow, browser);
    const exchanged = await w.h.app.flows.exchange(w.service.acme, { code: codeOf(done) ?? "" });
    const receipt = await w.h.app.decisions.receipt(w.h.admin, exchanged.decision);
    expect(receipt.decision.satisfiedBy).toMatchObject({ aal: 3, phishingResistant: true });
  });

  it("does not complete with a key no attestation proved: it asks again for a hardware key", async () => {
    await requireAal(3);
    const { flow, screen, begun } = await registrationOf();
    const software = w.authenticator({ aaguid: MODEL, attestation: "packed-self" });
    await w.h.app.flows.act("acme", flow, browser, {
      kind: "register_webauthn",
      csrf: csrfOf(screen),
      ceremony: begun.ceremony,
      response: software.register(begun.options),
    });
    const after = await w.h.app.flows.show("acme", flow, browser);
    expect(codeOf(after)).toBeNull();
    expect(after).toMatchObject({
      kind: "challenge",
      options: [{ kind: "enroll_webauthn", deviceBound: true }],
    });
  });

  it("does not ask for an attestation that nothing could verify (a server without roots)", async () => {
    await w.close();
    w = await openWebAuthnWorld();
    await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [RETURN] });
    await requireAal(3);
    const { screen, begun } = await registrationOf();
    expect(screen).toMatchObject({ options: [{ kind: "enroll_webauthn", deviceBound: true }] });
    expect(begun.options.attestation).toBe("none");
  });

  it("leaves attestation to the tenant's settings where a passkey is enough", async () => {
    await requireAal(2);
    const { screen, begun } = await registrationOf();
    expect(screen).toMatchObject({ options: [{ kind: "enroll_webauthn", deviceBound: false }] });
    expect(begun.options.attestation).toBe("none");
  });
});
