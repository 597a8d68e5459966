// Threat: online guessing. With ±1 step, each guess wins with probability 3/10^6; NIST SP
// 800-63B §5.2.2 (SECURITY-CHECKLIST N5, §6 T4) caps consecutive failures per authenticator at
// 100, so the attacker's odds stay ≤ 0.03%. Attempt 101 is refused even with the right code; a
// success before the cap resets the count. The principal's backoff (verification-throttle.ts)
// would refuse most of these attempts, so the clock moves past it after each failure: what is
// proven here is the authenticator's own count and lock.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { TOTP_FAILURE_LIMIT } from "./authenticators.js";
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

describe("TOTP: at most 100 consecutive failures", () => {
  let h: Harness;
  let service: Caller;
  let secret: string;
  let id: string;
  /** A code that is not valid now: oathtool's code for ten steps ago. */
  const wrongCode = () => oathtoolCode(secret, new Date(h.clock.now().getTime() - 300_000));
  const verify = (code: string) =>
    failure(h.app.authenticators.verifyTotp(service, "acme", "alice", id, { code }));
  /** The n-th failure in a row, then the clock past the backoff it set. */
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
    const enrolment = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    secret = enrolment.secret;
    id = enrolment.authenticator.id;
    await h.app.authenticators.confirmTotp(service, "acme", "alice", id, {
      code: oathtoolCode(secret, h.clock.now()),
    });
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  it("is 100", () => {
    expect(TOTP_FAILURE_LIMIT).toBe(100);
  });

  it("locks at the 100th failure and refuses attempt 101 even with the right code, audited once", async () => {
    const wrong = wrongCode();
    for (let n = 1; n <= 99; n += 1) {
      expect(await failAndWait(wrong, n)).toEqual({
        code: "totp.wrong_code",
        details: { failedAttempts: n },
      });
    }
    expect(await verify(wrong)).toEqual({
      code: "totp.wrong_code",
      details: { failedAttempts: 100 },
    });
    // The principal's own lock (100 in a row, every method) answers first, for an hour…
    expect((await verify(oathtoolCode(secret, h.clock.now()))).code).toBe("authenticator.locked");
    // …then lapses, while the authenticator's lock waits for an administrator.
    h.clock.advance(3600);
    expect(await verify(oathtoolCode(secret, h.clock.now()))).toEqual({
      code: "totp.locked",
      details: undefined,
    });
    h.clock.advance(3600);
    expect((await verify(oathtoolCode(secret, h.clock.now()))).code).toBe("totp.locked");
    const [listed] = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed).toMatchObject({ failedAttempts: 100, lockedAt: expect.any(String) });
    const locked = await h.app.audit.list(h.admin, "acme", { type: "authenticator.locked" }, {});
    expect(locked.items.map((e) => e.payload)).toEqual([
      {
        principal: "alice",
        scope: "principal",
        failedAttempts: 100,
        lockExpiresAt: expect.any(String),
      },
      { principal: "alice", authenticator: id, kind: "totp", failedAttempts: 100 },
    ]);
  });

  it("resets the count on a success (99 failures, a success, 99 failures: still unlocked)", async () => {
    const wrong = wrongCode();
    for (let n = 1; n <= 99; n += 1) await failAndWait(wrong, n);
    expect((await verify(oathtoolCode(secret, h.clock.now()))).code).toBe("accepted");
    for (let n = 1; n <= 99; n += 1) await failAndWait(wrong, n);
    h.clock.advance(30);
    expect((await verify(oathtoolCode(secret, h.clock.now()))).code).toBe("accepted");
    const [listed] = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed).toMatchObject({ failedAttempts: 0 });
    expect(listed?.lockedAt).toBeUndefined();
  });

  it("counts replays and malformed codes as failures", async () => {
    const good = oathtoolCode(secret, h.clock.now());
    await verify(good);
    expect(await verify(good)).toEqual({ code: "totp.replayed", details: { failedAttempts: 1 } });
    expect(await verify("abc")).toEqual({
      code: "totp.malformed_code",
      details: { failedAttempts: 2 },
    });
  });
});
