// Threat: online guessing of recovery codes. Each guess at an 80-bit secret wins with
// probability 2^-80; NIST SP 800-63B §5.2.2 / SP 800-63B-4 §3.2.2 (SECURITY-CHECKLIST N5, N8:
// "throttled") caps consecutive failures per authenticator at 100, counted against the
// principal's set. Attempt 101 is refused even with a right code; a success before the cap resets
// the count; generating new codes neither resets the count nor lifts a lock; revoking the set
// (an administrator) does. The principal's backoff and lock (verification-throttle.ts, shared with
// every method) would refuse most of these attempts first, so the clock moves past each backoff:
// what is proven here is the set's own count and lock.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { RECOVERY_CODE_FAILURE_LIMIT, RECOVERY_CODE_FAILURES } from "./recovery-codes.js";
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

const failure = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return { code: "accepted" };
  } catch (error) {
    if (error instanceof AppError) return { code: error.code, details: error.details };
    throw error;
  }
};

const WRONG = "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ";

describe("recovery codes: at most 100 consecutive failures", () => {
  let h: Harness;
  let service: Caller;
  let codes: readonly string[];
  const verify = (code: string) =>
    failure(h.app.recoveryCodes.verify(service, "acme", "alice", { code }));
  /** The n-th failure in a row, then the clock past the principal's backoff it set. */
  const failAndWait = async (code: string, n: number) => {
    const result = await verify(code);
    h.clock.advance(backoffSeconds(VERIFICATION_THROTTLE_DEFAULTS.principal, n));
    return result;
  };

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
    ({ codes } = await h.app.recoveryCodes.generate(service, "acme", "alice"));
  });
  afterEach(() => h.close());

  it("is 100", () => {
    expect(RECOVERY_CODE_FAILURE_LIMIT).toBe(100);
  });

  it("locks at the 100th failure and refuses attempt 101 even with a right code, audited once", async () => {
    for (let n = 1; n <= 100; n += 1) {
      expect(await failAndWait(n % 2 === 0 ? WRONG : "bad", n)).toEqual({
        code: n % 2 === 0 ? "recovery_code.wrong_code" : "recovery_code.malformed_code",
        details: { failedAttempts: n },
      });
    }
    // The principal's lock (100 in a row, every method) answers first, for an hour…
    expect((await verify(codes[0]!)).code).toBe("authenticator.locked");
    // …then lapses, while the set's lock waits for an administrator.
    h.clock.advance(3600);
    expect(await verify(codes[0]!)).toEqual({ code: "recovery_code.locked", details: undefined });
    h.clock.advance(86_400);
    expect((await verify(codes[1]!)).code).toBe("recovery_code.locked");
    const status = await h.app.recoveryCodes.status(service, "acme", "alice");
    expect(status).toMatchObject({
      remaining: 10,
      failedAttempts: 100,
      lockedAt: expect.any(String),
    });
    const locked = await h.app.audit.list(h.admin, "acme", { type: "recovery_code.locked" }, {});
    expect(locked.items.map((e) => e.payload)).toEqual([
      { principal: "alice", set: expect.any(String), failedAttempts: 100 },
    ]);
  });

  // Two wrong codes checked together against a set one failure short of the limit: the first to
  // commit counts the 100th and locks; the other, checked before the lock, is refused as locked.
  it("counts no failure past the limit for a code checked before another attempt locked the set", async () => {
    await h.store.transaction(async (r) => {
      for (let n = 1; n < RECOVERY_CODE_FAILURE_LIMIT; n += 1) {
        await r.recoveryCodes.recordFailure("acme", "alice", 100, h.clock.now().toISOString());
      }
    });
    const outcomes = await Promise.all([verify(WRONG), verify(WRONG)]);
    expect(outcomes.map((o) => o.code).sort()).toEqual([
      "recovery_code.locked",
      "recovery_code.wrong_code",
    ]);
    const status = await h.app.recoveryCodes.status(service, "acme", "alice");
    expect(status).toMatchObject({ failedAttempts: 100, lockedAt: expect.any(String) });
    const locked = await h.app.audit.list(h.admin, "acme", { type: "recovery_code.locked" }, {});
    expect(locked.items).toHaveLength(1);
  });

  it("resets the count on a success (99 failures, a success, 99 failures: still unlocked)", async () => {
    for (let n = 1; n <= 99; n += 1) await failAndWait(WRONG, n);
    expect((await verify(codes[0]!)).code).toBe("accepted");
    for (let n = 1; n <= 99; n += 1) await failAndWait(WRONG, n);
    expect((await verify(codes[1]!)).code).toBe("accepted");
    const status = await h.app.recoveryCodes.status(service, "acme", "alice");
    expect(status).toMatchObject({ failedAttempts: 0 });
    expect(status.lockedAt).toBeUndefined();
  });

  it("counts malformed codes, wrong codes and replays of a used code as failures, and says so", async () => {
    await verify(codes[0]!);
    const refusals = [await verify(codes[0]!), await verify("bad"), await verify(WRONG)];
    expect(refusals).toEqual([
      { code: "recovery_code.used", details: { failedAttempts: 1 } },
      { code: "recovery_code.malformed_code", details: { failedAttempts: 2 } },
      { code: "recovery_code.wrong_code", details: { failedAttempts: 3 } },
    ]);
    // What a backoff layer counts is exactly what the set counts.
    expect([...RECOVERY_CODE_FAILURES].sort()).toEqual(refusals.map((r) => r.code).sort());
  });

  it("refuses new codes while locked; an administrator's revocation lifts the lock, audited", async () => {
    for (let n = 1; n <= 100; n += 1) await failAndWait(WRONG, n);
    await provedMfaJustNow(h, "acme", "alice");
    expect(await failure(h.app.recoveryCodes.generate(service, "acme", "alice"))).toMatchObject({
      code: "recovery_code.locked",
    });
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    await h.app.recoveryCodes.revoke(admin, "acme", "alice");
    await provedMfaJustNow(h, "acme", "alice");
    const fresh = await h.app.recoveryCodes.generate(service, "acme", "alice");
    // The principal's own lock is not the set's: it lapses after an hour (or an unlock).
    expect((await verify(fresh.codes[0]!)).code).toBe("authenticator.locked");
    h.clock.advance(3600);
    expect((await verify(fresh.codes[0]!)).code).toBe("accepted");
    const revoked = await h.app.audit.list(h.admin, "acme", { type: "recovery_code.revoked" }, {});
    expect(revoked.items.map((e) => e.payload)).toEqual([
      expect.objectContaining({ failedAttempts: 100, locked: true }),
    ]);
  });
});
