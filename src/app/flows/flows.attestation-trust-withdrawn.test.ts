// Threat: a hardware key's AAL3 outliving the operator's trust in its vendor. A passkey counts as
// attested hardware only while the operator trusts the root its attestation chained to ("checked
// at every use, so removing a root withdraws AAL3 at once": a vendor's keys found cloneable, say).
// A flow's evidence, and a browser session's that later flows reuse for up to half a day, kept
// the verification's `attested` flag as it stood then: after the root was withdrawn, the session
// still completed an AAL3 flow and its token said `aal: 3` and `hwk`. The flow now counts such a
// proof for nothing (the user proves again, with the key as it is trusted now), as it counts an
// IdP sign-in whose registration was replaced for nothing.
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import { openingOf } from "../test-support/flow-opening.js";
import { codeOf, csrfOf, verifyWebAuthnInFlow } from "../test-support/platform-mfa-flows.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import {
  openWebAuthnWorld,
  withdrawableRoots,
  type RootTrust,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";

const RETURN = "https://app.example/signed-in";
const MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
const browser: FlowBrowser = { cookie: "attestation-trust-browser-cookie-0123" };

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
});

let w: WebAuthnWorld;
/** Whether the operator trusts the vendor's root: false once it is taken out of the roots. */
const trust: RootTrust = { trusted: true };
beforeEach(async () => {
  trust.trusted = true;
  w = await openWebAuthnWorld({ webauthn: withdrawableRoots([vendor.rootPem], trust) });
  await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [RETURN] });
});
afterEach(() => w.close());

const create = (stepUp?: { minAal: 3 }) =>
  w.h.app.flows.create(w.service.acme, "acme", {
    principal: { id: "bob" },
    verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
    returnTo: RETURN,
    ...(stepUp === undefined ? {} : { stepUp }),
  });

/** The claims of the token a flow's code exchanges for. */
async function claimsOf(code: string) {
  const { token } = await w.h.app.flows.exchange(w.service.acme, { code });
  const jwks = createLocalJWKSet((await w.h.app.assurance.jwks()) as unknown as JSONWebKeySet);
  return (await jwtVerify(token, jwks, { currentDate: w.h.clock.now() })).payload;
}

/** Bob registers an attested hardware key in a flow that asks for AAL3; the code it ends with. */
async function registerHardwareKey() {
  const started = await create();
  const screen = await w.h.app.flows.show("acme", started.flow, browser, {
    opening: openingOf(started),
  });
  const begun = await w.h.app.flows.webauthnOptions("acme", started.flow, browser, {
    csrf: csrfOf(screen),
    purpose: "registration",
  });
  const key = w.authenticator({
    aaguid: MODEL,
    attestation: await vendor.batch({ aaguid: MODEL }),
  });
  await w.h.app.flows.act("acme", started.flow, browser, {
    kind: "register_webauthn",
    csrf: csrfOf(screen),
    ceremony: begun.ceremony,
    response: key.register(begun.options),
  });
  return { key, code: codeOf(await w.h.app.flows.show("acme", started.flow, browser)) };
}

describe("a browser session's hardware key once the operator withdraws its root", () => {
  it("no longer completes an AAL3 flow on the remembered key", async () => {
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
    const { code: first } = await registerHardwareKey();
    expect(first).not.toBeNull();
    expect(await claimsOf(first ?? "")).toMatchObject({ aal: 3 });
    w.h.clock.advance(60);
    trust.trusted = false;
    const started = await create();
    const screen = await w.h.app.flows.show("acme", started.flow, browser, {
      opening: openingOf(started),
    });
    // No code: the key is no longer attested hardware, and the page asks for what AAL3 needs.
    expect(codeOf(screen)).toBeNull();
    expect(screen.kind).not.toBe("redirect");
  });

  it("has the key verified again where a passkey is enough, and vouches then for AAL2", async () => {
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
    const { key, code } = await registerHardwareKey();
    expect(code).not.toBeNull();
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant" });
    w.h.clock.advance(60);
    trust.trusted = false;
    const started = await create();
    const { flow } = started;
    const screen = await w.h.app.flows.show("acme", flow, browser, { opening: openingOf(started) });
    expect(screen).toMatchObject({ kind: "challenge", options: [{ kind: "verify_webauthn" }] });
    const after = await verifyWebAuthnInFlow(w.h, flow, browser, screen, key);
    const claims = await claimsOf(codeOf(after) ?? "");
    expect(claims).toMatchObject({ aal: 2, phr: true });
    expect(claims["amr"]).not.toContain("hwk");
  });

  it("keeps the remembered key's AAL3 while the root is trusted", async () => {
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
    expect((await registerHardwareKey()).code).not.toBeNull();
    w.h.clock.advance(60);
    const started = await create();
    const screen = await w.h.app.flows.show("acme", started.flow, browser, {
      opening: openingOf(started),
    });
    expect(await claimsOf(codeOf(screen) ?? "")).toMatchObject({ aal: 3 });
  });
});
