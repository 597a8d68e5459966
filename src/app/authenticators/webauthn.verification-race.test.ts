// Threat: a credential removed, locked or used elsewhere while an assertion made with it is being
// verified, and the assertion then accepted against the credential as it was read before
// verifying (checklist W6, W7). The outcome's transaction sets the counter only if it is still
// the one read, on an unlocked credential that is still there; when that matches nothing, the
// credential is read again to say why: removed (`webauthn.credential_unknown`), locked
// (`webauthn.locked`), or its counter moved (judged against the counter as it is now).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import type { WebAuthnProtocol } from "./webauthn-protocol.js";
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";
import { WEBAUTHN_FAILURE_LIMIT } from "./webauthn.js";
import {
  TEST_ORIGIN,
  openWebAuthnWorld,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";

const { principal: PRINCIPAL } = VERIFICATION_THROTTLE_DEFAULTS;

let w: WebAuthnWorld;
/** Runs once the next verification is done, before its outcome's transaction. */
let whileVerifying: (() => Promise<unknown>) | undefined;

/** Another assertion of the credential, accepted while this one is verified. */
const acceptedMeanwhile = (credential: string, counter: { expected: number; next: number }) =>
  w.h.store.transaction((r) =>
    r.webauthnCredentials.acceptAssertion(
      "acme",
      "alice",
      credential,
      counter,
      false,
      "2026-11-23T12:00:00Z",
    ),
  );

beforeEach(async () => {
  const real = createWebAuthnProtocol();
  const protocol: WebAuthnProtocol = {
    ...real,
    async verifyAuthentication(input) {
      const verification = await real.verifyAuthentication(input);
      const hook = whileVerifying;
      whileVerifying = undefined;
      await hook?.();
      return verification;
    },
  };
  w = await openWebAuthnWorld({ webauthn: { protocol, publicUrl: TEST_ORIGIN } });
});
afterEach(async () => {
  whileVerifying = undefined;
  await w.close();
});

const stored = (id: string) =>
  w.h.store.read((r) => r.webauthnCredentials.get("acme", "alice", id));

/** The payloads of acme's audit events of `type`. */
const payloads = async (type: string) =>
  (await w.audit()).filter((e) => e.type === type).map((e) => e.payload);

describe("a credential that changes while its assertion is verified", () => {
  it("refuses a credential removed meanwhile as webauthn.credential_unknown, audited", async () => {
    const key = w.authenticator();
    const view = await w.register(key);
    whileVerifying = () =>
      w.h.store.transaction((r) => r.webauthnCredentials.remove("acme", "alice", view.id));
    expect(await w.codeOf(w.authenticate(key))).toBe("webauthn.credential_unknown");
    expect(await payloads("webauthn.authentication_failed")).toEqual([
      expect.objectContaining({ authenticator: view.id, reason: "webauthn.credential_unknown" }),
    ]);
    expect(await payloads("webauthn.verified")).toEqual([]);
  });

  it("refuses a credential locked meanwhile as webauthn.locked, audited", async () => {
    const key = w.authenticator();
    const view = await w.register(key);
    whileVerifying = () =>
      w.h.store.transaction((r) =>
        r.webauthnCredentials.recordFailure("acme", "alice", view.id, 1, "2026-11-23T12:00:00Z"),
      );
    expect(await w.codeOf(w.authenticate(key))).toBe("webauthn.locked");
    expect(await payloads("webauthn.authentication_failed")).toEqual([
      expect.objectContaining({ authenticator: view.id, reason: "webauthn.locked" }),
    ]);
    expect(await stored(view.id)).toMatchObject({ signCount: 0, lockedAt: expect.any(String) });
  });

  it("neither counts nor audits again a lock that another attempt set meanwhile", async () => {
    const key = w.authenticator();
    const view = await w.register(key);
    // One failure short of the limit; then, while a valid assertion is verified, a forged one
    // (admitted before it, so it queued first) reaches the limit and locks the credential.
    await w.h.store.transaction(async (r) => {
      for (let n = 1; n < WEBAUTHN_FAILURE_LIMIT; n += 1) {
        await r.webauthnCredentials.recordFailure(
          "acme",
          "alice",
          view.id,
          100,
          "2026-11-23T12:00:00Z",
        );
      }
    });
    whileVerifying = () => w.codeOf(w.authenticate(key, { knobs: { bogusSignature: true } }));
    expect(await w.codeOf(w.authenticate(key))).toBe("webauthn.locked");
    // One lock, audited once, by the attempt that set it; the refusal of the locked credential
    // tried nothing and counts nothing.
    expect(await payloads("authenticator.locked")).toEqual([
      expect.objectContaining({ authenticator: view.id, failedAttempts: WEBAUTHN_FAILURE_LIMIT }),
    ]);
    expect(await payloads("webauthn.authentication_failed")).toEqual([
      expect.objectContaining({ reason: "webauthn.bad_signature", failedAttempts: 100 }),
      expect.not.objectContaining({ failedAttempts: expect.anything() }),
    ]);
    expect(await stored(view.id)).toMatchObject({ failedAttempts: WEBAUTHN_FAILURE_LIMIT });
  });

  it("refuses, as throttled, an assertion whose principal other attempts' failures throttled meanwhile", async () => {
    // Admitted with the principal's free failures all spent, then another attempt's failure
    // lands while this one is verified: the transaction that would accept it sees the backoff.
    const key = w.authenticator();
    const { id } = await w.register(key);
    for (let n = 0; n < PRINCIPAL.freeFailures; n += 1) {
      expect(await w.codeOf(w.authenticate(key, { knobs: { bogusSignature: true } }))).toBe(
        "webauthn.bad_signature",
      );
    }
    whileVerifying = () => w.codeOf(w.authenticate(key, { knobs: { bogusSignature: true } }));
    await expect(w.authenticate(key)).rejects.toMatchObject({
      code: "authenticator.throttled",
      details: { retryAfter: backoffSeconds(PRINCIPAL, PRINCIPAL.freeFailures + 1) },
    });
    expect((await stored(id))?.signCount).toBe(0);
    expect(await payloads("webauthn.verified")).toEqual([]);
  });

  it("judges a counter that moved meanwhile against the counter as it is now", async () => {
    const key = w.authenticator({ initialSignCount: 5 });
    const view = await w.register(key);
    // Another assertion of the credential, accepted meanwhile, took the counter from 5 to 9.
    whileVerifying = () => acceptedMeanwhile(view.id, { expected: 5, next: 9 });
    expect(await w.codeOf(w.authenticate(key))).toBe("webauthn.clone_detected");
    expect(await payloads("webauthn.clone_detected")).toEqual([
      expect.objectContaining({ storedSignCount: 9, receivedSignCount: 6, policy: "reject" }),
    ]);
    expect(await stored(view.id)).toMatchObject({ signCount: 9, failedAttempts: 1 });
  });

  it("accepts, with a warning, a counter that moved meanwhile under the warn policy", async () => {
    await w.configure({ signCountPolicy: "warn" });
    const key = w.authenticator({ initialSignCount: 5 });
    const view = await w.register(key);
    whileVerifying = () => acceptedMeanwhile(view.id, { expected: 5, next: 9 });
    const verified = await w.authenticate(key);
    expect(verified.warnings?.map((warning) => warning.code)).toEqual(["webauthn.clone_suspected"]);
    expect(verified.authenticator.signCount).toBe(9);
    expect(await payloads("webauthn.verified")).toEqual([
      expect.objectContaining({ signCount: 9, warnings: ["webauthn.clone_suspected"] }),
    ]);
    expect(await stored(view.id)).toMatchObject({ signCount: 9, failedAttempts: 0 });
  });

  it("accepts an assertion whose credential did not change, moving the counter on", async () => {
    const key = w.authenticator({ initialSignCount: 5 });
    const view = await w.register(key);
    const verified = await w.authenticate(key);
    expect(verified.authenticator).toMatchObject({ id: view.id, signCount: 6, failedAttempts: 0 });
    expect(await stored(view.id)).toMatchObject({ signCount: 6, failedAttempts: 0 });
    expect(await payloads("webauthn.verified")).toEqual([
      expect.objectContaining({ authenticator: view.id, signCount: 6 }),
    ]);
  });
});
