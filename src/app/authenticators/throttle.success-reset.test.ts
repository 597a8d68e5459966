// Threat: a principal punished for an attacker's failures after proving itself, or an attacker
// who buys fresh guesses by enrolling. A real success with any method (TOTP, WebAuthn, a
// recovery code) starts the principal's count again and is the proof of a fresh MFA; enrolling
// a WebAuthn credential or generating recovery codes is not a verification and changes neither.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openEveryMethod, METHODS, type EveryMethod } from "../test-support/every-method.js";

describe("a success with any method", () => {
  let m: EveryMethod;
  beforeEach(async () => {
    m = await openEveryMethod();
  });
  afterEach(() => m.close());

  for (const method of METHODS) {
    it(`(${method}) resets the principal's count after failures of the other methods`, async () => {
      const others = METHODS.filter((other) => other !== method);
      for (let n = 0; n < 5; n += 1) await m.fail(others[n % 2]!);
      expect(await m.principalState()).toMatchObject({ consecutiveFailures: 5 });
      expect((await m.succeed(method)).code).toBe("accepted");
      expect(await m.principalState()).toMatchObject({
        consecutiveFailures: 0,
        lastSuccessAt: m.w.h.clock.now().toISOString(),
      });
      // Five free failures again, then the backoff.
      for (let n = 0; n < 5; n += 1) {
        expect((await m.fail(others[n % 2]!)).code).not.toBe("authenticator.throttled");
      }
      await m.fail(method);
      expect((await m.fail(method)).code).toBe("authenticator.throttled");
    });
  }

  it("is not a WebAuthn registration or a recovery-code generation", async () => {
    // Binding another method needs a fresh MFA: proved first, then the failures, at one instant.
    await provedMfaJustNow(m.w.h, "acme", "alice");
    for (let n = 0; n < 5; n += 1) await m.fail("webauthn");
    const before = await m.principalState();
    const key = m.w.authenticator();
    const begun = await m.w.h.app.webauthn.beginRegistration(m.w.service.acme, "acme", "alice");
    await m.w.h.app.webauthn.finishRegistration(
      m.w.service.acme,
      "acme",
      "alice",
      begun.registration,
      { response: key.register(begun.options), name: "second key" },
    );
    await m.w.h.app.recoveryCodes.generate(m.w.service.acme, "acme", "alice");
    expect(await m.principalState()).toStrictEqual(before);
    expect(before).toMatchObject({ consecutiveFailures: 5 });
  });
});
