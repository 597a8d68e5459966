// Threat: a principal left locked out by a method the unlock forgets. An administrator who
// checked a person's identity unlocks the principal; the unlock must lift every lock and count
// that would still refuse them (the principal's, each TOTP authenticator's, each WebAuthn
// credential's, the recovery-code set's), keep the recovery codes themselves valid, and say in
// the audit trail exactly what it lifted.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { openEveryMethod, type EveryMethod } from "../test-support/every-method.js";
import { WEBAUTHN_FAILURE_LIMIT } from "./webauthn.js";
import { RECOVERY_CODE_FAILURE_LIMIT } from "./recovery-codes.js";

describe("an administrator's unlock", () => {
  let m: EveryMethod;
  let admin: Caller;
  beforeEach(async () => {
    m = await openEveryMethod();
    admin = await m.w.h.caller(["tenant_admin"], ["acme"]);
  });
  afterEach(() => m.close());

  it("lifts the WebAuthn credentials' and the recovery codes' locks and counts, audited", async () => {
    const second = await m.w.register(m.w.authenticator(), { name: "second key" });
    const at = m.w.h.clock.now().toISOString();
    // The methods' own locks, as 100 failures leave them (the principal's is proven elsewhere).
    const set = await m.w.h.store.transaction(async (r) => {
      await r.webauthnCredentials.recordFailure("acme", "alice", m.credential.id, 1, at);
      for (let n = 0; n < 3; n += 1) {
        await r.webauthnCredentials.recordFailure("acme", "alice", second.id, 100, at);
      }
      for (let n = 0; n < RECOVERY_CODE_FAILURE_LIMIT; n += 1) {
        await r.recoveryCodes.recordFailure("acme", "alice", RECOVERY_CODE_FAILURE_LIMIT, at);
      }
      return (await r.recoveryCodes.status("acme", "alice"))?.set.id;
    });
    expect(WEBAUTHN_FAILURE_LIMIT).toBe(100);
    expect((await m.succeed("webauthn")).code).toBe("webauthn.locked");
    expect((await m.succeed("recovery_code")).code).toBe("recovery_code.locked");

    const lifted = {
      principal: "alice",
      wasLocked: false,
      // Refusals by a locked method try nothing and count nothing.
      failedAttempts: 0,
      authenticators: [m.credential.id, second.id].sort(),
      recoveryCodes: { set, wasLocked: true, failedAttempts: 100 },
    };
    const result = await m.w.h.app.authenticators.unlock(admin, "acme", "alice", {
      reason: "Identity checked in person",
    });
    expect(result).toEqual(lifted);
    const unlocked = (await m.w.audit()).filter((e) => e.type === "authenticator.unlocked");
    expect(unlocked.map((e) => e.payload)).toEqual([
      {
        ...lifted,
        by: "administrator",
        role: "tenant_admin",
        reason: "Identity checked in person",
      },
    ]);

    const [credentials, codes] = await m.w.h.store.read(async (r) => [
      await r.webauthnCredentials.list("acme", "alice"),
      await r.recoveryCodes.status("acme", "alice"),
    ]);
    expect(credentials.map((c) => [c.failedAttempts, c.lockedAt])).toEqual([
      [0, undefined],
      [0, undefined],
    ]);
    expect(codes).toMatchObject({ remaining: 10, set: { id: set, failedAttempts: 0 } });
    expect(codes?.set.lockedAt).toBeUndefined();
    expect((await m.succeed("webauthn")).code).toBe("accepted");
    expect((await m.succeed("recovery_code")).code).toBe("accepted");
  });

  it("names nothing it did not lift", async () => {
    const result = await m.w.h.app.authenticators.unlock(admin, "acme", "alice");
    expect(result).toEqual({
      principal: "alice",
      wasLocked: false,
      failedAttempts: 0,
      authenticators: [],
    });
  });
});
