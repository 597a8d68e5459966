// Threat: a hardware key's AAL3 outliving the operator's trust in its vendor, through the decision
// API. A passkey counts as attested hardware only while the operator lists the root its
// attestation chained to (a vendor's batch key leaked, say). A `webauthn` event that names its
// verification was held to the `attested` flag recorded then: a platform that kept the event (in
// its own session) got AAL3 for it after the root was taken out. The decision now counts such an
// event as what the key is trusted for now: a passkey that is not attested hardware.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import {
  openWebAuthnWorld,
  withdrawableRoots,
  type RootTrust,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";

const MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

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
});
afterEach(() => w.close());

/** Alice registers an attested hardware key and verifies it: the event the verification returned. */
async function verifiedHardwareKey(): Promise<AuthenticationEvent> {
  const key = w.authenticator({
    aaguid: MODEL,
    attestation: await vendor.batch({ aaguid: MODEL }),
  });
  await w.register(key, { name: "YubiKey" });
  const { event } = await w.authenticate(key);
  expect(event).toMatchObject({ attested: true, backupEligible: false, userVerified: true });
  return event;
}

describe("a verified hardware key's event once the operator withdraws its root", () => {
  it("no longer reaches AAL3 in a decision", async () => {
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
    const event = await verifiedHardwareKey();
    expect(await w.decide(event)).toMatchObject({ outcome: "allow", satisfiedBy: { aal: 3 } });
    trust.trusted = false;
    const decision = await w.decide(event);
    expect(decision.outcome).toBe("challenge");
    expect(decision.reasons.map((r) => r.code)).toContain("requirement.unmet.aal3");
  });

  it("counts as a passkey that is not attested where AAL2 is enough, and the receipt says so", async () => {
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant" });
    const event = await verifiedHardwareKey();
    trust.trusted = false;
    const decision = await w.decide(event);
    expect(decision).toMatchObject({
      outcome: "allow",
      satisfiedBy: { aal: 2, phishingResistant: true },
    });
    const receipt = await w.h.app.decisions.receipt(w.h.admin, decision.id ?? "");
    expect((receipt.inputSummary as { events: unknown[] }).events).toEqual([
      expect.objectContaining({
        method: "webauthn",
        attested: false,
        attestationUntrusted: true,
        verification: (event as { verification: string }).verification,
      }),
    ]);
  });

  it("reaches AAL3 again once the root is listed again", async () => {
    await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
    const event = await verifiedHardwareKey();
    trust.trusted = false;
    expect((await w.decide(event)).outcome).toBe("challenge");
    trust.trusted = true;
    expect(await w.decide(event)).toMatchObject({ outcome: "allow", satisfiedBy: { aal: 3 } });
  });
});
