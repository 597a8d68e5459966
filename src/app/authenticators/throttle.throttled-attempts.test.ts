// Threat: an attacker who meets the backoff keeps firing anyway, hoping that refused attempts
// are still checked (a right guess would then succeed, or burn the victim's one-time step) or
// that they stretch the victim's lock-out. A throttled attempt checks no code, consumes no TOTP
// step, counts no failure (neither the principal's nor the authenticator's) and does not move
// the retry time.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  rightCode,
  verifyWith,
  wrongCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";

describe("a throttled attempt", () => {
  let h: Harness;
  let service: Caller;
  let alice: EnrolledTotp;
  const verify = (code: string) => verifyWith(h, service, alice, code);
  const state = () =>
    h.store.transaction(async (r) => ({
      throttle: await r.verificationThrottles.get("acme", "principal:alice"),
      authenticator: await r.authenticators.get("acme", "alice", alice.id),
    }));

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    alice = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
    const wrong = wrongCode(h, alice);
    // Nine failures: the wait after the ninth is 8 s.
    for (let n = 1; n <= 9; n += 1) {
      await verify(wrong);
      if (n < 9) h.clock.advance(60);
    }
  });
  afterEach(() => h.close());

  it("does not check the code and does not consume its step", async () => {
    const code = rightCode(h, alice);
    const before = await state();
    expect(await verify(code)).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 8 },
    });
    expect((await state()).authenticator?.lastStep).toBe(before.authenticator?.lastStep);
    h.clock.advance(8);
    // The same code, still within the window: accepted, so its step was never used.
    expect((await verify(code)).code).toBe("accepted");
  });

  it("counts nothing and never moves the retry time, however many are sent", async () => {
    const before = await state();
    const wrong = wrongCode(h, alice);
    for (let n = 0; n < 50; n += 1) {
      expect((await verify(wrong)).code).toBe("authenticator.throttled");
    }
    h.clock.advance(7);
    expect(await verify(wrong)).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 1 },
    });
    const after = await state();
    expect(after.throttle).toStrictEqual(before.throttle);
    expect(after.throttle?.consecutiveFailures).toBe(9);
    expect(after.authenticator?.failedAttempts).toBe(9);
    h.clock.advance(1);
    expect((await verify(wrong)).code).toBe("totp.wrong_code");
  });

  it("is not audited as a verification failure", async () => {
    const failures = async () =>
      (
        await h.app.audit.list(
          h.admin,
          "acme",
          { type: "authenticator.verification_failed" },
          { limit: 100 },
        )
      ).items.length;
    const before = await failures();
    await verify(wrongCode(h, alice));
    expect(await failures()).toBe(before);
  });
});
