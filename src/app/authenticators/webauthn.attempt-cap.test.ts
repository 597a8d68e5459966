// Threat: online guessing against one credential (NIST SP 800-63B §5.2.2 / rev 4 §3.2.2, at most
// 100 consecutive failures). Each refused assertion by a known credential counts; at 100 the
// credential locks, audited, and then verifies nothing, not even a valid assertion; a success
// before the limit clears the count. The principal's backoff and lock (verification-throttle.ts,
// shared with every method) would refuse most of these attempts first: the clock moves past each
// backoff, and an administrator lifts the principal's lock, to prove the credential's own count.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";
import { WEBAUTHN_FAILURE_LIMIT } from "./webauthn.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeAll(async () => {
  w = await openWebAuthnWorld();
});
afterAll(() => w.close());

describe("failed attempts on a WebAuthn credential", () => {
  it("locks the credential at the 100th consecutive failure, and then refuses even a valid assertion", async () => {
    expect(WEBAUTHN_FAILURE_LIMIT).toBe(100);
    const key = w.authenticator();
    const view = await w.register(key);
    const wait = (n: number) => {
      w.h.clock.advance(backoffSeconds(VERIFICATION_THROTTLE_DEFAULTS.principal, n));
    };
    for (let n = 1; n < WEBAUTHN_FAILURE_LIMIT; n += 1) {
      expect(await w.codeOf(w.authenticate(key, { knobs: { bogusSignature: true } }))).toBe(
        "webauthn.bad_signature",
      );
      wait(n);
    }
    await w.authenticate(key);
    const cleared = await w.h.store.read((r) =>
      r.webauthnCredentials.get("acme", "alice", view.id),
    );
    expect(cleared?.failedAttempts).toBe(0);
    for (let n = 1; n <= WEBAUTHN_FAILURE_LIMIT; n += 1) {
      await w.codeOf(w.authenticate(key, { knobs: { up: false } }));
      if (n < WEBAUTHN_FAILURE_LIMIT) wait(n);
    }
    const locked = await w.h.store.read((r) => r.webauthnCredentials.get("acme", "alice", view.id));
    expect(locked).toMatchObject({ failedAttempts: 100, lockedAt: w.h.clock.now().toISOString() });
    // The principal's lock answers first; once it lapses, the credential's own lock remains.
    expect(await w.codeOf(w.authenticate(key))).toBe("authenticator.locked");
    w.h.clock.advance(VERIFICATION_THROTTLE_DEFAULTS.lock.timeoutSeconds);
    expect(await w.codeOf(w.authenticate(key))).toBe("webauthn.locked");
    const lockEvents = (await w.audit()).filter((e) => e.type === "authenticator.locked");
    expect(lockEvents.map((e) => e.payload)).toEqual([
      expect.objectContaining({ principal: "alice", scope: "principal", failedAttempts: 100 }),
      expect.objectContaining({ authenticator: view.id, kind: "webauthn", failedAttempts: 100 }),
    ]);
  });
});
