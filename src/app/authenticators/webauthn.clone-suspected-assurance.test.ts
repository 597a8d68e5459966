// Threat: a tenant's `warn` clone policy weakening a platform's AAL3 mandate. A signature counter
// that did not grow is the sign that the key's secret exists in two places (WebAuthn §6.1.1,
// checklist W6); under `warn` the assertion is accepted with a warning. That verification was
// recorded `attested: true` all the same, so the decision API gave it AAL3 and a hosted flow's
// token said `aal: 3` and `hwk`: "hardware-bound, non-exportable" on the very verification that
// suggests the secret was exported. It now records and counts as a passkey that is not attested
// (AAL2, phishing-resistant), warned and audited as before; the key's next verification whose
// counter grows counts as the key is trusted again.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import { openingOf } from "../test-support/flow-opening.js";
import { codeOf, verifyWebAuthnInFlow } from "../test-support/platform-mfa-flows.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

const MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
const RETURN = "https://app.example/signed-in";
const browser: FlowBrowser = { cookie: "clone-suspected-browser-cookie-0123" };

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
});

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld({ attestationRoots: [vendor.rootPem] });
  await w.h.app.tenants.setReturnUrls(w.h.admin, "acme", { returnUrls: [RETURN] });
  await w.configure({ signCountPolicy: "warn" });
  await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
});
afterEach(() => w.close());

/** An attested, device-bound hardware key of `principal`, its counter at 10. */
async function hardwareKey(principal = "alice") {
  const key = w.authenticator({
    aaguid: MODEL,
    attestation: await vendor.batch({ aaguid: MODEL }),
    initialSignCount: 10,
  });
  const view = await w.register(key, { name: "YubiKey", principal });
  expect(view).toMatchObject({ attested: true, backupEligible: false });
  return key;
}

describe("a hardware key's verification accepted with a clone signal under `warn`", () => {
  it("is recorded as not attested, warned and audited, and meets AAL2 but not AAL3 in a decision", async () => {
    const key = await hardwareKey();
    const result = await w.authenticate(key, { knobs: { signCount: 4 } });
    expect(result.warnings?.map((x) => x.code)).toEqual(["webauthn.clone_suspected"]);
    expect(result.event).toMatchObject({ attested: false, backupEligible: false });
    const audit = await w.audit();
    expect(audit.slice(-2).map((e) => e.type)).toEqual([
      "webauthn.clone_detected",
      "webauthn.verified",
    ]);
    expect(audit.at(-1)?.payload).toMatchObject({
      attested: false,
      warnings: ["webauthn.clone_suspected"],
    });
    const decision = await w.decide(result.event);
    expect(decision.outcome).toBe("challenge");
    expect(decision.reasons.map((r) => r.code)).toContain("requirement.unmet.aal3");
    // Claiming the flag the verification did not record is refused, as any other flag.
    expect(await w.codeOf(w.decide({ ...result.event, attested: true }))).toBe(
      "evidence.unverified",
    );
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant" });
    expect(await w.decide(result.event)).toMatchObject({
      outcome: "allow",
      satisfiedBy: { aal: 2, phishingResistant: true },
    });
  });

  it("counts as attested hardware again at the key's next verification whose counter grows", async () => {
    const key = await hardwareKey();
    await w.authenticate(key, { knobs: { signCount: 4 } });
    const { event, warnings } = await w.authenticate(key, { knobs: { signCount: 11 } });
    expect(warnings).toBeUndefined();
    expect(event).toMatchObject({ attested: true });
    expect(await w.decide(event)).toMatchObject({ outcome: "allow", satisfiedBy: { aal: 3 } });
  });

  it("counts the key's verification from before the signal as not attested while the clone is suspected", async () => {
    // Either copy may be the thief's, and the one that signed in before the signal may have
    // been: what the key proved then is no more hardware-bound than what it proves now.
    const key = await hardwareKey();
    const { event: before } = await w.authenticate(key, { knobs: { signCount: 11 } });
    expect(await w.decide(before)).toMatchObject({ outcome: "allow", satisfiedBy: { aal: 3 } });
    await w.authenticate(key, { knobs: { signCount: 4 } });
    const suspected = await w.decide(before);
    expect(suspected.outcome).toBe("challenge");
    expect(suspected.reasons.map((r) => r.code)).toContain("requirement.unmet.aal3");
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant" });
    const decision = await w.decide(before);
    expect(decision).toMatchObject({ outcome: "allow", satisfiedBy: { aal: 2 } });
    const receipt = await w.h.app.decisions.receipt(w.h.admin, decision.id ?? "");
    expect((receipt.inputSummary as { events: unknown[] }).events).toEqual([
      expect.objectContaining({ method: "webauthn", attested: false, cloneSuspected: true }),
    ]);
    // The key's next verification whose counter grows lifts the suspicion, for it and before.
    await w.authenticate(key, { knobs: { signCount: 12 } });
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
    expect(await w.decide(before)).toMatchObject({ outcome: "allow", satisfiedBy: { aal: 3 } });
  });

  it("does not complete a hosted flow that needs AAL3, nor say hwk in its token", async () => {
    const key = await hardwareKey("bob");
    const started = await w.h.app.flows.create(w.service.acme, "acme", {
      principal: { id: "bob" },
      verified: [{ method: "password", source: "platform", at: w.h.clock.now().toISOString() }],
      returnTo: RETURN,
    });
    const { flow } = started;
    const screen = await w.h.app.flows.show("acme", flow, browser, { opening: openingOf(started) });
    expect(screen).toMatchObject({ kind: "challenge", options: [{ kind: "verify_webauthn" }] });
    const after = await verifyWebAuthnInFlow(w.h, flow, browser, screen, key, { signCount: 4 });
    const code = codeOf(after);
    expect(code).toBeNull();
    expect(after.kind).not.toBe("redirect");
  });
});
