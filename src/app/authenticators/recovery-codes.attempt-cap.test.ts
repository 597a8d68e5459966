// Threat: online guessing of recovery codes. Each guess at an 80-bit secret wins with
// probability 2^-80; NIST SP 800-63B §5.2.2 / SP 800-63B-4 §3.2.2 (SECURITY-CHECKLIST N5, N8:
// "throttled") caps consecutive failures per authenticator at 100, counted against the
// principal's set. Attempt 101 is refused even with a right code; a success before the cap resets
// the count; generating new codes neither resets the count nor lifts a lock; revoking the set
// (an administrator) does. Per-client backoff is a separate layer.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { RECOVERY_CODE_FAILURE_LIMIT, RECOVERY_CODE_FAILURES } from "./recovery-codes.js";

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
      expect(await verify(n % 2 === 0 ? WRONG : "bad")).toEqual({
        code: n % 2 === 0 ? "recovery_code.wrong_code" : "recovery_code.malformed_code",
        details: { failedAttempts: n },
      });
    }
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

  it("resets the count on a success (99 failures, a success, 99 failures: still unlocked)", async () => {
    for (let n = 1; n <= 99; n += 1) await verify(WRONG);
    expect((await verify(codes[0]!)).code).toBe("accepted");
    for (let n = 1; n <= 99; n += 1) await verify(WRONG);
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
    for (let n = 1; n <= 100; n += 1) await verify(WRONG);
    expect(await failure(h.app.recoveryCodes.generate(service, "acme", "alice"))).toMatchObject({
      code: "recovery_code.locked",
    });
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    await h.app.recoveryCodes.revoke(admin, "acme", "alice");
    const fresh = await h.app.recoveryCodes.generate(service, "acme", "alice");
    expect((await verify(fresh.codes[0]!)).code).toBe("accepted");
    const revoked = await h.app.audit.list(h.admin, "acme", { type: "recovery_code.revoked" }, {});
    expect(revoked.items.map((e) => e.payload)).toEqual([
      expect.objectContaining({ failedAttempts: 100, locked: true }),
    ]);
  });
});
