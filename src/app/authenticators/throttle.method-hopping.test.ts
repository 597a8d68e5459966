// Threat: method hopping. An attacker who guesses at a principal through TOTP, WebAuthn and
// recovery codes in turn must not get each method's free failures, backoff and 100-failure lock
// anew (NIST SP 800-63B-4 §3.2.2 counts failed attempts per subscriber account). Failures of
// every method add up to one backoff, and the 100th of any mix locks the principal: then every
// method refuses, even with a right secret, and no recovery code is spent.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openEveryMethod, METHODS, type EveryMethod } from "../test-support/every-method.js";
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const { principal: PRINCIPAL, lock: LOCK } = VERIFICATION_THROTTLE_DEFAULTS;

describe("failures across methods", () => {
  let m: EveryMethod;
  beforeEach(async () => {
    m = await openEveryMethod();
  });
  afterEach(() => m.close());

  it("add up to one backoff: the sixth failure, whatever its method, throttles every method", async () => {
    const order = [
      "totp",
      "webauthn",
      "recovery_code",
      "totp",
      "webauthn",
      "recovery_code",
    ] as const;
    // Past the TOTP confirmation's step, so that the right code below needs no clock move.
    m.w.h.clock.advance(30);
    const failures = [];
    for (const method of order) failures.push((await m.fail(method)).code);
    expect(failures).toEqual([
      "totp.wrong_code",
      "webauthn.bad_signature",
      "recovery_code.wrong_code",
      "totp.wrong_code",
      "webauthn.bad_signature",
      "recovery_code.wrong_code",
    ]);
    expect(await m.principalState()).toMatchObject({ consecutiveFailures: 6 });
    for (const method of METHODS) {
      expect(await m.succeed(method)).toEqual({
        code: "authenticator.throttled",
        details: { retryAfter: backoffSeconds(PRINCIPAL, 6) },
      });
    }
    // Each method's failure event carries the one count of the principal.
    const counts = (await m.w.audit())
      .filter((e) =>
        [
          "authenticator.verification_failed",
          "webauthn.authentication_failed",
          "recovery_code.verification_failed",
        ].includes(e.type),
      )
      .map((e) => e.payload.principalFailures);
    expect(counts).toEqual([1, 2, 3, 4, 5, 6]);
    m.w.h.clock.advance(backoffSeconds(PRINCIPAL, 6));
    expect((await m.succeed("webauthn")).code).toBe("accepted");
  });

  it("add up to one lock at 100, which blocks every method even with a right secret", async () => {
    let lockedAt = "";
    for (let n = 1; n <= LOCK.afterFailures; n += 1) {
      const method = METHODS[n % METHODS.length]!;
      expect((await m.fail(method)).code).not.toBe("authenticator.throttled");
      if (n === LOCK.afterFailures) lockedAt = m.w.h.clock.now().toISOString();
      else m.w.h.clock.advance(backoffSeconds(PRINCIPAL, n));
    }
    const lockedUntil = new Date(Date.parse(lockedAt) + LOCK.timeoutSeconds * 1000).toISOString();
    for (const method of METHODS) {
      expect(await m.succeed(method)).toEqual({
        code: "authenticator.locked",
        details: { lockedUntil },
      });
    }
    // No method reached its own limit: the lock is the principal's.
    const [totp, credential] = await m.w.h.app.authenticators.list(
      m.w.service.acme,
      "acme",
      "alice",
    );
    expect([totp?.failedAttempts, credential?.failedAttempts].sort()).toEqual([33, 34]);
    expect(totp?.lockedAt).toBeUndefined();
    expect(credential?.lockedAt).toBeUndefined();
    const codes = await m.w.h.app.recoveryCodes.status(m.w.service.acme, "acme", "alice");
    expect(codes).toMatchObject({ remaining: 10, failedAttempts: 33 });
    expect(codes.lockedAt).toBeUndefined();
    const locks = (await m.w.audit()).filter((e) => e.type === "authenticator.locked");
    expect(locks.map((e) => e.payload)).toEqual([
      { principal: "alice", scope: "principal", failedAttempts: 100, lockExpiresAt: lockedUntil },
    ]);
  });
});
