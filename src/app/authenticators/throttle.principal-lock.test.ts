// Threat: slow online guessing that waits out every backoff. NIST SP 800-63B-4 §3.2.2: no more
// than 100 consecutive failed attempts on one account. The 100th failure of a principal, on any
// of its methods, locks its verification (audited once); an administrator unlocks it, audited
// with who and why, and the lock also lapses after an hour, audited when it is noticed.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Caller } from "../application.js";
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

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const { principal: PRINCIPAL, lock: LOCK } = VERIFICATION_THROTTLE_DEFAULTS;

describe("the principal's lock after 100 failures in a row", () => {
  let h: Harness;
  let service: Caller;
  let phone: EnrolledTotp;
  let tablet: EnrolledTotp;
  let lockedAt: string;

  const events = async (type: string) =>
    (await h.app.audit.list(h.admin, "acme", { type }, { limit: 100 })).items;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    phone = await enrolTotp(h, service, "acme", "alice");
    const second = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    tablet = { ...phone, id: second.authenticator.id, secret: second.secret };
    await h.app.authenticators.confirmTotp(service, "acme", "alice", tablet.id, {
      code: rightCode(h, tablet),
    });
    h.clock.advance(60);
    // 50 failures on each authenticator, alternating, waiting out each backoff: neither
    // authenticator reaches its own limit of 100; the principal does.
    // Codes of ten steps before the start: wrong at every later time.
    const wrong = { phone: wrongCode(h, phone), tablet: wrongCode(h, tablet) };
    for (let n = 1; n <= 100; n += 1) {
      const [totp, code] = n % 2 === 0 ? [phone, wrong.phone] : [tablet, wrong.tablet];
      expect((await verifyWith(h, service, totp, code)).code).toBe("totp.wrong_code");
      if (n === 100) lockedAt = h.clock.now().toISOString();
      h.clock.advance(backoffSeconds(PRINCIPAL, n));
    }
  });
  afterEach(() => h.close());

  it("locks every method of the principal at the 100th failure, audited once", async () => {
    for (const totp of [phone, tablet]) {
      expect(await verifyWith(h, service, totp, rightCode(h, totp))).toEqual({
        code: "authenticator.locked",
        details: {
          lockedUntil: new Date(Date.parse(lockedAt) + LOCK.timeoutSeconds * 1000).toISOString(),
        },
      });
    }
    const listed = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed.map((a) => [a.failedAttempts, a.lockedAt])).toEqual([
      [50, undefined],
      [50, undefined],
    ]);
    expect((await events("authenticator.locked")).map((e) => [e.actor, e.payload])).toEqual([
      [
        service.id,
        {
          principal: "alice",
          scope: "principal",
          failedAttempts: 100,
          lockExpiresAt: new Date(Date.parse(lockedAt) + 3_600_000).toISOString(),
        },
      ],
    ]);
  });

  it("is lifted by an administrator, audited with who and why", async () => {
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    expect(
      await h.app.authenticators.unlock(admin, "acme", "alice", {
        reason: "Identity checked by phone, ticket 4711",
      }),
    ).toEqual({
      principal: "alice",
      wasLocked: true,
      failedAttempts: 100,
      authenticators: [phone.id, tablet.id].sort(),
    });
    expect((await verifyWith(h, service, phone, rightCode(h, phone))).code).toBe("accepted");
    const listed = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed.map((a) => a.failedAttempts)).toEqual([0, 0]);
    expect((await events("authenticator.unlocked")).map((e) => [e.actor, e.payload])).toEqual([
      [
        admin.id,
        {
          principal: "alice",
          by: "administrator",
          role: "tenant_admin",
          reason: "Identity checked by phone, ticket 4711",
          wasLocked: true,
          failedAttempts: 100,
          authenticators: [phone.id, tablet.id].sort(),
        },
      ],
    ]);
  });

  it("lapses after an hour, audited when noticed, and counts from zero again", async () => {
    const expiry = Date.parse(lockedAt) + LOCK.timeoutSeconds * 1000;
    h.clock.advance((expiry - h.clock.now().getTime()) / 1000 - 1);
    expect((await verifyWith(h, service, phone, rightCode(h, phone))).code).toBe(
      "authenticator.locked",
    );
    expect(await events("authenticator.unlocked")).toEqual([]);
    h.clock.advance(1);
    expect((await verifyWith(h, service, phone, wrongCode(h, phone))).code).toBe("totp.wrong_code");
    expect((await events("authenticator.unlocked")).map((e) => e.payload)).toEqual([
      {
        principal: "alice",
        by: "timeout",
        lockedAt,
        lockExpiresAt: new Date(expiry).toISOString(),
        failedAttempts: 100,
      },
    ]);
    const state = await h.store.transaction((r) =>
      r.verificationThrottles.get("acme", "principal:alice"),
    );
    expect(state).toMatchObject({ consecutiveFailures: 1 });
    expect(state?.lockedAt).toBeUndefined();
    expect((await verifyWith(h, service, tablet, rightCode(h, tablet))).code).toBe("accepted");
  });

  it("may be unlocked by administrators only", async () => {
    const auditor = await h.caller(["tenant_auditor"], ["acme"]);
    expect((await outcomeOf(h.app.authenticators.unlock(service, "acme", "alice"))).code).toBe(
      "auth.forbidden",
    );
    expect((await outcomeOf(h.app.authenticators.unlock(auditor, "acme", "alice"))).code).toBe(
      "auth.forbidden",
    );
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    const globex = await h.caller(["tenant_admin"], ["globex"]);
    expect((await outcomeOf(h.app.authenticators.unlock(globex, "acme", "alice"))).code).toBe(
      "not_found",
    );
    expect(
      (await outcomeOf(h.app.authenticators.unlock(h.admin, "acme", "alice", { reason: "\u0007" })))
        .code,
    ).toBe("request.invalid");
    expect((await outcomeOf(h.app.authenticators.unlock(h.admin, "acme", "nobody"))).code).toBe(
      "principal.unknown",
    );
    expect((await verifyWith(h, service, phone, rightCode(h, phone))).code).toBe(
      "authenticator.locked",
    );
  });
});

describe("the authenticator's own lock", () => {
  let h: Harness;
  let service: Caller;
  let phone: EnrolledTotp;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    phone = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
    const wrong = wrongCode(h, phone);
    for (let n = 1; n <= 100; n += 1) {
      await verifyWith(h, service, phone, wrong);
      h.clock.advance(backoffSeconds(PRINCIPAL, n));
    }
  });
  afterEach(() => h.close());

  it("outlasts the principal's time-out and is lifted by an administrator's unlock", async () => {
    h.clock.advance(LOCK.timeoutSeconds);
    expect((await verifyWith(h, service, phone, rightCode(h, phone))).code).toBe("totp.locked");
    const unlocked = await h.app.authenticators.unlock(h.admin, "acme", "alice");
    expect(unlocked).toEqual({
      principal: "alice",
      wasLocked: false,
      failedAttempts: 0,
      authenticators: [phone.id],
    });
    h.clock.advance(30);
    expect((await verifyWith(h, service, phone, rightCode(h, phone))).code).toBe("accepted");
    const [listed] = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed?.lockedAt).toBeUndefined();
  });
});
