// Threat: a synced (backup-eligible) passkey passed off as device-bound to reach AAL3, or
// incoherent backup flags (WebAuthn §6.1.3, checklist W5, SP 800-63B-4 Appendix B). BS=1 with
// BE=0 is refused; BE must stay what it was at registration, in either direction; the event
// carries BE so that the engine caps a BE=1 credential at AAL2; BS changes are recorded.
// (AAL3 also needs a trusted attestation: webauthn.attestation.test.ts.)
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assuranceOf } from "../../core/assurance.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

describe("backup flags", () => {
  it("refuses BS=1 with BE=0 at registration and at authentication", async () => {
    expect(await w.codeOf(w.register(w.authenticator(), { knobs: { bs: true, be: false } }))).toBe(
      "webauthn.backup_flags_invalid",
    );
    const key = w.authenticator();
    await w.register(key);
    expect(await w.codeOf(w.authenticate(key, { knobs: { bs: true } }))).toBe(
      "webauthn.backup_flags_invalid",
    );
  });

  it("refuses a device-bound credential that turns backup eligible, and the reverse", async () => {
    const bound = w.authenticator();
    await w.register(bound);
    expect(await w.codeOf(w.authenticate(bound, { knobs: { be: true } }))).toBe(
      "webauthn.backup_eligibility_changed",
    );
    const synced = w.authenticator({ backupEligible: true, backupState: true });
    await w.register(synced, { principal: "bob" });
    expect(
      await w.codeOf(w.authenticate(synced, { principal: "bob", knobs: { be: false, bs: false } })),
    ).toBe("webauthn.backup_eligibility_changed");
  });

  it("keeps a synced passkey at AAL2, and BS is recorded", async () => {
    const synced = w.authenticator({ backupEligible: true, backupState: false });
    const view = await w.register(synced);
    expect(view).toMatchObject({
      backupEligible: true,
      backupState: false,
      deviceType: "multi_device",
    });
    const { event, authenticator } = await w.authenticate(synced, { knobs: { bs: true } });
    expect(event).toMatchObject({ backupEligible: true, userVerified: true });
    expect(assuranceOf(event).aal).toBe(2);
    expect(authenticator.backupState).toBe(true);

    // Device-bound, but nothing proves hardware: AAL2 (the attestation tests cover AAL3).
    const bound = w.authenticator();
    await w.register(bound, { principal: "bob" });
    const { event: boundEvent } = await w.authenticate(bound, { principal: "bob" });
    expect(assuranceOf(boundEvent).aal).toBe(2);
  });
});
