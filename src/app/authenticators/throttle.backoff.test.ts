// Threat: online guessing at machine speed. After a few free failures (typing mistakes), each
// further failure of a principal doubles the wait before the next attempt is even looked at
// (NIST SP 800-63B-4 §3.2.2 rate limiting), so 100 guesses take hours instead of seconds. The
// clock is fixed and moved by hand: an attempt before the retry time is refused with its
// `retryAfter`, one at the retry time goes ahead.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  verifyWith,
  wrongCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

const { principal: PRINCIPAL, client: CLIENT } = VERIFICATION_THROTTLE_DEFAULTS;

describe("backoff policy", () => {
  it("lets 5 failures of a principal and 20 of a client address go free, then doubles from 1 s to 15 minutes", () => {
    expect([1, 5, 6, 7, 8, 9, 15, 16, 100].map((n) => backoffSeconds(PRINCIPAL, n))).toEqual([
      0, 0, 1, 2, 4, 8, 512, 900, 900,
    ]);
    expect([20, 21, 22, 30, 31, 1000].map((n) => backoffSeconds(CLIENT, n))).toEqual([
      0, 1, 2, 512, 900, 900,
    ]);
  });
});

describe("backoff of a principal's failed verifications", () => {
  let h: Harness;
  let service: Caller;
  let alice: EnrolledTotp;
  const verify = (code: string) => verifyWith(h, service, alice, code);

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    alice = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  it("refuses before the retry time with its retryAfter, and checks the attempt at it", async () => {
    const wrong = wrongCode(h, alice);
    for (let n = 1; n <= 5; n += 1) expect((await verify(wrong)).code).toBe("totp.wrong_code");
    // The sixth failure is the first beyond the free ones: 1 s.
    expect((await verify(wrong)).code).toBe("totp.wrong_code");
    expect(await verify(wrong)).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 1 },
    });
    h.clock.advance(1);
    // The seventh: 2 s. Half-way through, 1 s is left.
    expect((await verify(wrong)).code).toBe("totp.wrong_code");
    h.clock.advance(1);
    expect(await verify(wrong)).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 1 },
    });
    h.clock.advance(1);
    // The eighth: 4 s, then 8 s after the ninth.
    expect((await verify(wrong)).code).toBe("totp.wrong_code");
    expect(await verify(wrong)).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 4 },
    });
    h.clock.advance(4);
    expect((await verify(wrong)).code).toBe("totp.wrong_code");
    h.clock.advance(7.5);
    // Rounded up: half a second left is a whole second to wait.
    expect(await verify(wrong)).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 1 },
    });
    h.clock.advance(0.5);
    expect((await verify(rightCode(h, alice))).code).toBe("accepted");
  });

  it("starts again from zero after a success", async () => {
    const wrong = wrongCode(h, alice);
    for (let n = 1; n <= 6; n += 1) await verify(wrong);
    h.clock.advance(1);
    expect((await verify(rightCode(h, alice))).code).toBe("accepted");
    h.clock.advance(30);
    const again = wrongCode(h, alice);
    for (let n = 1; n <= 5; n += 1) expect((await verify(again)).code).toBe("totp.wrong_code");
    expect((await verify(again)).code).toBe("totp.wrong_code");
  });

  it("forgets failures after a quiet day", async () => {
    const wrong = wrongCode(h, alice);
    for (let n = 1; n <= 8; n += 1) {
      await verify(wrong);
      h.clock.advance(backoffSeconds(PRINCIPAL, n));
    }
    h.clock.advance(PRINCIPAL.forgetAfterSeconds);
    const later = wrongCode(h, alice);
    // Counted from one again: five free failures.
    for (let n = 1; n <= 5; n += 1) expect((await verify(later)).code).toBe("totp.wrong_code");
    const state = await h.store.transaction((r) =>
      r.verificationThrottles.get("acme", "principal:alice"),
    );
    expect(state?.consecutiveFailures).toBe(5);
  });

  it("counts failures across the principal's authenticators, confirmations included", async () => {
    await provedMfaJustNow(h, "acme", "alice");
    const pending = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    const other = { ...alice, id: pending.authenticator.id, secret: pending.secret };
    const confirm = (code: string) =>
      outcomeOf(h.app.authenticators.confirmTotp(service, "acme", "alice", other.id, { code }));
    for (let n = 1; n <= 3; n += 1) {
      expect((await confirm(wrongCode(h, other))).code).toBe("totp.wrong_code");
      expect((await verify(wrongCode(h, alice))).code).toBe("totp.wrong_code");
    }
    expect(await confirm(rightCode(h, other))).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 1 },
    });
    expect(await verify(rightCode(h, alice))).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 1 },
    });
    const listed = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed.map((a) => [a.status, a.failedAttempts])).toEqual([
      ["active", 3],
      ["pending", 3],
    ]);
  });
});
