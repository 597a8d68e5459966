// Threat: guessing during a backoff, or spending a victim's secrets through it. While the
// principal is backing off, a WebAuthn assertion and a recovery code are refused with
// `authenticator.throttled` before anything is checked: no recovery code is hashed or used, no
// assertion is verified, no count or backoff grows, nothing is audited. A throttled WebAuthn
// finish leaves its challenge unconsumed: the response was not judged, so the same assertion is
// judged (once) after the wait. Both paths count per client address as TOTP does.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { outcomeOf } from "../test-support/totp-principals.js";
import { openEveryMethod, type EveryMethod } from "../test-support/every-method.js";
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

const { principal: PRINCIPAL } = VERIFICATION_THROTTLE_DEFAULTS;
const WAIT = backoffSeconds(PRINCIPAL, 6);

describe("a throttled attempt", () => {
  let m: EveryMethod;
  let eventsBefore: number;
  const service = () => m.w.service.acme;

  beforeEach(async () => {
    m = await openEveryMethod();
    for (let n = 1; n <= 6; n += 1) await m.fail("totp");
    eventsBefore = (await m.w.audit()).length;
  });
  afterEach(() => m.close());

  it("with a right recovery code uses no code, counts nothing, and the code works after the wait", async () => {
    const code = m.codes[0]!;
    const refused = await outcomeOf(
      m.w.h.app.recoveryCodes.verify(service(), "acme", "alice", { code }),
    );
    expect(refused).toEqual({ code: "authenticator.throttled", details: { retryAfter: WAIT } });
    // Garbage is not even parsed.
    expect(
      (await outcomeOf(m.w.h.app.recoveryCodes.verify(service(), "acme", "alice", { code: "?" })))
        .code,
    ).toBe("authenticator.throttled");
    expect(await m.w.h.app.recoveryCodes.status(service(), "acme", "alice")).toMatchObject({
      remaining: 10,
      failedAttempts: 0,
    });
    expect(await m.principalState()).toMatchObject({ consecutiveFailures: 6 });
    expect((await m.w.audit()).length).toBe(eventsBefore);
    m.w.h.clock.advance(WAIT);
    const used = await m.w.h.app.recoveryCodes.verify(service(), "acme", "alice", { code });
    expect(used.remaining).toBe(9);
  });

  it("with a valid assertion verifies nothing, keeps the challenge, and the same assertion is judged once after the wait", async () => {
    const begun = await m.w.h.app.webauthn.beginAuthentication(service(), "acme", "alice");
    const response = m.key.authenticate(begun.options);
    const finish = () =>
      outcomeOf(
        m.w.h.app.webauthn.finishAuthentication(service(), "acme", "alice", begun.authentication, {
          response,
        }),
      );
    const before = await m.w.h.store.read((r) =>
      r.webauthnCredentials.get("acme", "alice", m.credential.id),
    );
    expect(await finish()).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: WAIT },
    });
    // An unknown ceremony is not even looked up.
    expect(
      (
        await outcomeOf(
          m.w.h.app.webauthn.finishAuthentication(service(), "acme", "alice", "wauth_nope", {
            response,
          }),
        )
      ).code,
    ).toBe("authenticator.throttled");
    const [credential, challenge] = await m.w.h.store.read(async (r) => [
      await r.webauthnCredentials.get("acme", "alice", m.credential.id),
      await r.webauthnChallenges.get("acme", begun.authentication),
    ]);
    expect(credential).toStrictEqual(before);
    expect(challenge).toBeDefined();
    expect(await m.principalState()).toMatchObject({ consecutiveFailures: 6 });
    expect((await m.w.audit()).length).toBe(eventsBefore);

    m.w.h.clock.advance(WAIT);
    expect((await finish()).code).toBe("accepted");
    expect((await finish()).code).toBe("webauthn.challenge_unknown");
    expect(await m.principalState()).toMatchObject({ consecutiveFailures: 0 });
  });

  it("is refused on a locked principal as on TOTP, and no code is used", async () => {
    await m.w.h.store.transaction((r) =>
      r.verificationThrottles.lock("acme", "principal:alice", {
        threshold: 1,
        at: m.w.h.clock.now().toISOString(),
        expiresAt: new Date(m.w.h.clock.now().getTime() + 3_600_000).toISOString(),
      }),
    );
    m.w.h.clock.advance(WAIT);
    expect((await m.succeed("recovery_code")).code).toBe("authenticator.locked");
    expect((await m.succeed("webauthn")).code).toBe("authenticator.locked");
    expect(await m.w.h.app.recoveryCodes.status(service(), "acme", "alice")).toMatchObject({
      remaining: 10,
    });
  });
});

describe("the client address on the new paths", () => {
  let m: EveryMethod;
  beforeEach(async () => {
    m = await openEveryMethod();
  });
  afterEach(() => m.close());

  it("is checked like TOTP's and counts WebAuthn and recovery-code failures under one key", async () => {
    for (const method of ["webauthn", "recovery_code"] as const) {
      expect(await m.fail(method, "not-an-address")).toEqual({ code: "request.invalid" });
    }
    expect((await m.principalState())?.consecutiveFailures ?? 0).toBe(0);
    await m.fail("webauthn", "2001:db8:1:2::10");
    await m.fail("recovery_code", "2001:db8:1:2:ffff::1");
    await m.fail("totp", "2001:db8:1:2::99");
    const client = await m.w.h.store.read((r) =>
      r.verificationThrottles.get("acme", "client:2001:db8:1:2::/64"),
    );
    expect(client).toMatchObject({ consecutiveFailures: 3 });
    const failed = (await m.w.audit()).filter((e) =>
      ["webauthn.authentication_failed", "recovery_code.verification_failed"].includes(e.type),
    );
    expect(failed.map((e) => [e.payload.principalFailures, e.payload.clientFailures])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });
});
