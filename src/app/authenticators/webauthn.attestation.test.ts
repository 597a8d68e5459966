// Threat: reaching AAL3 ("hardware-based", NIST SP 800-63B-4 §2.3.1) with an authenticator that
// only says it is hardware: a software key, or a passkey reporting BE=0. On the platform, AAL3
// rests on a registration whose attestation chained to a root the operator configured; the
// credential keeps that fact, its verifications carry it, and the decision API holds an event
// to what its verification recorded (checklist W8).
import { X509Certificate } from "node:crypto";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import {
  openWebAuthnWorld,
  TEST_ORIGIN,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";
import { replacePolicy } from "../test-support/replace-policy.js";

const MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
});

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld({ attestationRoots: [vendor.rootPem] });
  await replacePolicy(w.h, "acme", { posture: "phishing_resistant", require: { minAal: 3 } });
});
afterEach(() => w.close());

const securityKey = async () =>
  w.authenticator({ aaguid: MODEL, attestation: await vendor.batch({ aaguid: MODEL }) });

describe("AAL3 on the platform rests on a trusted attestation", () => {
  it("records an attested key, audits its root, and its verification reaches AAL3", async () => {
    const key = await securityKey();
    const view = await w.register(key, { name: "YubiKey" });
    expect(view).toMatchObject({ attested: true, aaguid: MODEL, deviceType: "single_device" });
    const registered = (await w.audit()).find((e) => e.type === "webauthn.registered");
    expect(registered?.payload).toMatchObject({
      attested: true,
      attestationRoot: "C=US, O=Keys Inc, CN=Keys Inc Attestation Root",
      attestationFormat: "packed",
    });
    const { event } = await w.authenticate(key);
    expect(event).toMatchObject({ attested: true, backupEligible: false, userVerified: true });
    const verified = (await w.audit()).filter((e) => e.type === "webauthn.verified");
    expect(verified.at(-1)?.payload).toMatchObject({ attested: true });
    expect(await w.decide(event)).toMatchObject({
      outcome: "allow",
      satisfiedBy: { aal: 3, phishingResistant: true },
    });
  });

  it("keeps a device-bound key without a trusted attestation at AAL2, and asks for a hardware key", async () => {
    const key = w.authenticator({ aaguid: MODEL, attestation: "packed-self" });
    expect(await w.register(key)).toMatchObject({ attested: false, deviceType: "single_device" });
    const { event } = await w.authenticate(key);
    expect(event).toMatchObject({ attested: false, backupEligible: false });
    const decision = await w.decide(event);
    expect(decision).toMatchObject({ outcome: "challenge" });
    expect(decision.challenge).toEqual([
      { kind: "enroll", method: "webauthn", userVerification: "required", deviceBound: true },
    ]);
  });

  it("does not take a verification's word for hardware its registration never proved", async () => {
    const key = w.authenticator({ aaguid: MODEL });
    await w.register(key);
    const { event } = await w.authenticate(key);
    expect(await outcomeOf(w.decide({ ...event, attested: true }))).toMatchObject({
      code: "evidence.unverified",
    });
  });

  it("offers for AAL3 the attested key of a principal, not its other passkey", async () => {
    const plain = w.authenticator();
    const hardware = await securityKey();
    await w.register(plain, { name: "laptop" });
    const key = await w.register(hardware, { name: "YubiKey" });
    const listed = await w.h.app.authenticators.list(w.service.acme, "acme", "alice");
    const decision = await w.h.app.decisions.decide(w.service.acme, "acme", {
      principal: {
        id: "alice",
        authenticators: listed.flatMap((a) =>
          a.kind === "webauthn"
            ? [
                {
                  method: "webauthn" as const,
                  id: a.id,
                  userVerifying: a.userVerified,
                  backupEligible: a.backupEligible,
                  attested: a.attested,
                },
              ]
            : [],
        ),
      },
      evidence: { events: [] },
    });
    expect(decision.challenge).toEqual([
      { kind: "verify", method: "webauthn", authenticatorId: key.id, userVerification: "required" },
    ]);
  });

  it("withdraws AAL3 from a key whose root the operator no longer trusts, at its next use", async () => {
    const key = await securityKey();
    const registered = await w.register(key, { name: "YubiKey" });
    const fingerprint = (await w.audit()).find((e) => e.type === "webauthn.registered")?.payload
      .attestationRootFingerprint;
    expect(fingerprint).toBe(new X509Certificate(vendor.rootPem).fingerprint256);
    // The same store, served with another vendor's root in place of this one.
    const other = await AttestationVendor.create("Other Keys");
    const later = w.h.application({
      store: w.h.store,
      random: w.h.context.random,
      webauthn: {
        protocol: createWebAuthnProtocol({ attestationRoots: [other.rootPem] }),
        publicUrl: TEST_ORIGIN,
      },
    });
    try {
      const listed = await later.authenticators.list(w.service.acme, "acme", "alice");
      expect(listed.find((a) => a.id === registered.id)).toMatchObject({ attested: false });
      const begun = await later.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
      const { event } = await later.webauthn.finishAuthentication(
        w.service.acme,
        "acme",
        "alice",
        begun.authentication,
        { response: key.authenticate(begun.options) },
      );
      expect(event).toMatchObject({ attested: false, backupEligible: false, userVerified: true });
      const verified = (await w.audit()).filter((e) => e.type === "webauthn.verified");
      expect(verified.at(-1)?.payload).toMatchObject({ attested: false });
      const decision = await later.decisions.decide(w.service.acme, "acme", {
        principal: { id: "alice" },
        evidence: { events: [event] },
      });
      expect(decision).toMatchObject({ outcome: "challenge" });
      // Claiming the attestation back is refused: the verification recorded none.
      expect(
        await outcomeOf(
          later.decisions.decide(w.service.acme, "acme", {
            principal: { id: "alice" },
            evidence: { events: [{ ...event, attested: true }] },
          }),
        ),
      ).toMatchObject({ code: "evidence.unverified" });
    } finally {
      await later.close();
    }
    // Where the root is still trusted, the same key still reaches AAL3.
    const { event } = await w.authenticate(key);
    expect(await w.decide(event)).toMatchObject({ outcome: "allow", satisfiedBy: { aal: 3 } });
  });
});
