// Threat: an administrator trusting a key suspected cloned. Under the tenant's `warn` clone
// policy an assertion whose signature counter did not grow is accepted, but counts as a passkey
// that is not attested hardware (webauthn.clone-suspected-assurance.test.ts). The credential's
// view still said only `attested: true`, what its registration proved, so the administrator
// listing the principal's authenticators saw attested hardware for a key whose secret may exist
// in two places, and nothing of the signal. The view now says when the last clone signal was
// (`cloneSuspectedAt`, null when none stands) and whether the key counts as attested hardware in
// decisions now (`countsAsAttested`: not while a clone is suspected, nor while the operator no
// longer trusts its attestation root). A clone signal stands until the key's next verification
// whose counter grows, the one that counts as attested again; a refused one (`reject`) stands too.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import type { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import type { WebAuthnAuthenticatorView } from "../application.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import {
  openWebAuthnWorld,
  TEST_ORIGIN,
  withdrawableRoots,
  type RootTrust,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";

const MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Keys Inc");
});

describeOnEachStore("a WebAuthn credential's view after a clone signal", (url) => {
  let w: WebAuthnWorld;
  const trust: RootTrust = { trusted: true };
  afterEach(async () => {
    trust.trusted = true;
    await w.close();
  });

  async function open(signCountPolicy: "warn" | "reject"): Promise<void> {
    w = await openWebAuthnWorld({
      webauthn: withdrawableRoots([vendor.rootPem], trust),
      url: await url(),
    });
    await w.configure({ signCountPolicy });
  }

  /** An attested, device-bound hardware key of alice's, its counter at 10. */
  async function hardwareKey(): Promise<SoftAuthenticator> {
    const key = w.authenticator({
      origin: TEST_ORIGIN,
      aaguid: MODEL,
      attestation: await vendor.batch({ aaguid: MODEL }),
      initialSignCount: 10,
    });
    await w.register(key, { name: "YubiKey" });
    return key;
  }

  /** alice's one credential as the administrator's list shows it. */
  async function listed(): Promise<WebAuthnAuthenticatorView> {
    const all = await w.h.app.authenticators.list(w.h.admin, "acme", "alice");
    const [view] = all.filter((a): a is WebAuthnAuthenticatorView => a.kind === "webauthn");
    if (view === undefined) throw new Error("alice has no WebAuthn credential");
    return view;
  }

  it("shows no clone suspected, and counting as attested, for a key that never gave a signal", async () => {
    await open("warn");
    const key = await hardwareKey();
    expect(await listed()).toMatchObject({
      attested: true,
      cloneSuspectedAt: null,
      countsAsAttested: true,
    });
    const { authenticator } = await w.authenticate(key, { knobs: { signCount: 11 } });
    expect(authenticator).toMatchObject({ cloneSuspectedAt: null, countsAsAttested: true });
  });

  it("shows when the clone was suspected and that the key counts as not attested, under `warn`", async () => {
    await open("warn");
    const key = await hardwareKey();
    w.h.clock.advance(60);
    const signalAt = w.h.clock.now().toISOString();
    const { authenticator, warnings } = await w.authenticate(key, { knobs: { signCount: 4 } });
    expect(warnings?.map((x) => x.code)).toEqual(["webauthn.clone_suspected"]);
    const suspected = { attested: true, cloneSuspectedAt: signalAt, countsAsAttested: false };
    expect(authenticator).toMatchObject(suspected);
    expect(await listed()).toMatchObject(suspected);
    // A second signal moves the time to the latest.
    w.h.clock.advance(60);
    await w.authenticate(key, { knobs: { signCount: 5 } });
    expect(await listed()).toMatchObject({
      cloneSuspectedAt: w.h.clock.now().toISOString(),
      countsAsAttested: false,
    });
  });

  it("clears the suspicion at the key's next verification whose counter grows", async () => {
    await open("warn");
    const key = await hardwareKey();
    await w.authenticate(key, { knobs: { signCount: 4 } });
    const { event, authenticator } = await w.authenticate(key, { knobs: { signCount: 11 } });
    expect(event.attested).toBe(true);
    const cleared = { attested: true, cloneSuspectedAt: null, countsAsAttested: true };
    expect(authenticator).toMatchObject(cleared);
    expect(await listed()).toMatchObject(cleared);
  });

  it("shows a signal refused under `reject` too, until the counter grows again", async () => {
    await open("reject");
    const key = await hardwareKey();
    const signalAt = w.h.clock.now().toISOString();
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 4 } }))).toBe(
      "webauthn.clone_detected",
    );
    expect(await listed()).toMatchObject({ cloneSuspectedAt: signalAt, countsAsAttested: false });
    await w.authenticate(key, { knobs: { signCount: 11 } });
    expect(await listed()).toMatchObject({ cloneSuspectedAt: null, countsAsAttested: true });
  });

  it("counts the key as not attested while the operator no longer trusts its root", async () => {
    await open("warn");
    await hardwareKey();
    trust.trusted = false;
    expect(await listed()).toMatchObject({
      attested: false,
      cloneSuspectedAt: null,
      countsAsAttested: false,
    });
    trust.trusted = true;
    expect(await listed()).toMatchObject({ attested: true, countsAsAttested: true });
  });
});

describe("a WebAuthn credential's view without attestation", () => {
  it("never counts an unattested key as attested, suspected or not", async () => {
    const w = await openWebAuthnWorld({ attestationRoots: [vendor.rootPem] });
    try {
      await w.configure({ signCountPolicy: "warn" });
      const key = w.authenticator({ aaguid: MODEL, attestation: "packed-self" });
      const registered = await w.register(key);
      expect(registered).toMatchObject({ attested: false, countsAsAttested: false });
      expect(registered.cloneSuspectedAt).toBeNull();
    } finally {
      await w.close();
    }
  });
});
