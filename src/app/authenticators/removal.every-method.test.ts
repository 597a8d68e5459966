// Threat: MFA stripped through a method the removal rules do not see. A stolen session at the
// platform removes the principal's passkey, or revokes its recovery codes, without a fresh MFA;
// or removals of WebAuthn credentials leave a principal whom policy requires to prove MFA with
// nothing but a sheet of recovery codes. WebAuthn credentials obey the rules TOTP obeys (a
// fresh MFA for the platform's backend, never the last authenticator while policy requires
// MFA), audited with the remover's role. Recovery codes count as a method but do not, alone,
// keep MFA possible: a look-up secret reaches AAL2 only with a password and lasts ten uses.
// Revoking them needs the same fresh MFA from the backend and is never refused as the last
// method: codes that may have leaked must go at once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openEveryMethod, type EveryMethod } from "../test-support/every-method.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import { countActiveMethods } from "./removal-rules.js";

describe("removal rules over every method", () => {
  let m: EveryMethod;
  let admin: Caller;
  const service = () => m.w.service.acme;
  const count = () => m.w.h.store.read((r) => countActiveMethods(r, "acme", "alice"));
  const remove = (caller: Caller, id: string) =>
    outcomeOf(m.w.h.app.authenticators.remove(caller, "acme", "alice", id));
  const revoke = (caller: Caller) =>
    outcomeOf(m.w.h.app.recoveryCodes.revoke(caller, "acme", "alice"));
  const events = async (type: string) =>
    (await m.w.audit()).filter((e) => e.type === type).map((e) => e.payload);
  const setPosture = async (posture: "mfa_optional" | "platform_mfa") => {
    const current = await m.w.h.app.policies.current(m.w.h.admin, "acme");
    await m.w.h.app.policies.replace(m.w.h.admin, "acme", {
      policy: { posture },
      rationale: `Posture ${posture}`,
      ifMatch: current.record.version,
    });
  };

  beforeEach(async () => {
    m = await openEveryMethod();
    admin = await m.w.h.caller(["tenant_admin"], ["acme"]);
  });
  afterEach(() => m.close());

  it("counts TOTP, WebAuthn credentials, and a recovery-code set while a code is unused", async () => {
    expect(await count()).toBe(3);
    await m.w.register(m.w.authenticator(), { name: "second key" });
    expect(await count()).toBe(4);
    while (m.codes.length > 0) expect((await m.succeed("recovery_code")).code).toBe("accepted");
    expect(await count()).toBe(3);
  });

  it("needs a fresh MFA from the platform's backend to remove a WebAuthn credential, audited with it", async () => {
    expect(await remove(service(), m.credential.id)).toEqual({
      code: "authenticator.fresh_mfa_required",
    });
    await m.fail("webauthn");
    expect((await remove(service(), m.credential.id)).code).toBe(
      "authenticator.fresh_mfa_required",
    );
    expect(await events("authenticator.removed")).toEqual([]);
    // A fresh MFA with any method will do: here a recovery code.
    expect((await m.succeed("recovery_code")).code).toBe("accepted");
    const verifiedAt = m.w.h.clock.now().toISOString();
    expect(await remove(service(), m.credential.id)).toEqual({ code: "accepted" });
    expect(await events("authenticator.removed")).toEqual([
      {
        principal: "alice",
        authenticator: m.credential.id,
        kind: "webauthn",
        credentialId: m.credential.credentialId,
        name: m.credential.name,
        role: "platform_service",
        sessionsEnded: 0,
        flowsReset: 0,
        codesWithdrawn: 0,
        freshMfaAt: verifiedAt,
      },
    ]);
  });

  it("lets administrators remove a WebAuthn credential without one, audited with their role", async () => {
    expect(await remove(admin, m.credential.id)).toEqual({ code: "accepted" });
    expect(await events("authenticator.removed")).toEqual([
      expect.objectContaining({ authenticator: m.credential.id, role: "tenant_admin" }),
    ]);
  });

  it("keeps the last authenticator while policy requires MFA, recovery codes or not", async () => {
    expect(await remove(admin, m.totp.id)).toEqual({ code: "accepted" });
    // Alice now holds one WebAuthn credential and ten recovery codes.
    for (const caller of [admin, m.w.h.admin]) {
      expect(await remove(caller, m.credential.id)).toEqual({
        code: "authenticator.last_method",
        details: { outcome: "challenge" },
      });
    }
    expect((await m.succeed("webauthn")).code).toBe("accepted");
    expect((await remove(service(), m.credential.id)).code).toBe("authenticator.last_method");
    // With a second credential, or once policy no longer requires MFA, it may go.
    const second = await m.w.register(m.w.authenticator(), { name: "second key" });
    expect(await remove(admin, m.credential.id)).toEqual({ code: "accepted" });
    await setPosture("mfa_optional");
    expect(await remove(admin, second.id)).toEqual({ code: "accepted" });
  });

  it("needs a fresh MFA from the platform's backend to revoke recovery codes; administrators none", async () => {
    expect(await revoke(service())).toEqual({ code: "authenticator.fresh_mfa_required" });
    expect(await m.w.h.app.recoveryCodes.status(admin, "acme", "alice")).toMatchObject({
      remaining: 10,
    });
    expect((await m.succeed("totp")).code).toBe("accepted");
    const verifiedAt = m.w.h.clock.now().toISOString();
    expect(await revoke(service())).toEqual({ code: "accepted" });
    await provedMfaJustNow(m.w.h, "acme", "alice");
    await m.w.h.app.recoveryCodes.generate(service(), "acme", "alice");
    expect(await revoke(admin)).toEqual({ code: "accepted" });
    expect((await events("recovery_code.revoked")).map((p) => [p.role, p.freshMfaAt])).toEqual([
      ["platform_service", verifiedAt],
      ["tenant_admin", undefined],
    ]);
  });

  it("never refuses to revoke recovery codes as the last method", async () => {
    await m.w.h.store.transaction(async (r) => {
      await r.authenticators.remove("acme", "alice", m.totp.id);
      await r.webauthnCredentials.remove("acme", "alice", m.credential.id);
    });
    expect(await count()).toBe(1);
    expect(await revoke(admin)).toEqual({ code: "accepted" });
    expect(await count()).toBe(0);
  });
});
