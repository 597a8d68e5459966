// Threat: a credential used for someone it does not belong to (WebAuthn §7.2 step 6, checklist
// W8). Another principal's credential, another tenant's, an unknown one: all refused as
// `webauthn.credential_unknown` (one answer, so nothing leaks about which). A credential id
// registered to anyone in the tenant is refused at registration (`webauthn.credential_exists`).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

describe("credential binding", () => {
  it("refuses bob's credential in alice's ceremony", async () => {
    const alices = w.authenticator();
    await w.register(alices);
    const bobs = w.authenticator();
    const bobView = await w.register(bobs, { principal: "bob" });
    expect(
      await w.codeOf(w.authenticate(bobs, { knobs: { credentialId: bobView.credentialId } })),
    ).toBe("webauthn.credential_unknown");
    // Bob's credential is not counted against: alice's ceremony cannot lock bob out.
    expect(
      await w.h.store.read((r) => r.webauthnCredentials.get("acme", "bob", bobView.id)),
    ).toMatchObject({ failedAttempts: 0 });
    const failed = (await w.audit()).filter((e) => e.type === "webauthn.authentication_failed");
    expect(failed.at(-1)?.payload).toEqual({
      principal: "alice",
      authentication: expect.any(String) as unknown,
      reason: "webauthn.credential_unknown",
      principalFailures: 1,
    });
  });

  it("refuses a credential of another tenant (wrong tenant)", async () => {
    const key = w.authenticator();
    const globexView = await w.register(key, { tenant: "globex" });
    await w.register(w.authenticator());
    expect(
      await w.codeOf(w.authenticate(key, { knobs: { credentialId: globexView.credentialId } })),
    ).toBe("webauthn.credential_unknown");
  });

  it("refuses an unknown credential", async () => {
    const key = w.authenticator();
    await w.register(key);
    const stranger = w.authenticator();
    stranger.register({ challenge: "AAAA", rp: { id: "mfa.test", name: "x" }, user: { id: "x" } });
    const id = [...stranger.credentials.keys()][0] ?? "";
    expect(await w.codeOf(w.authenticate(stranger, { knobs: { credentialId: id } }))).toBe(
      "webauthn.credential_unknown",
    );
  });

  it("refuses a credential id registered already, to this principal or another", async () => {
    const key = w.authenticator();
    const first = await w.register(key);
    for (const principal of ["alice", "bob"]) {
      expect(
        await w.codeOf(
          w.register(w.authenticator(), { principal, knobs: { credentialId: first.credentialId } }),
        ),
      ).toBe("webauthn.credential_exists");
    }
    const failed = (await w.audit()).filter((e) => e.type === "webauthn.registration_failed");
    expect(failed.map((e) => e.payload.reason)).toEqual([
      "webauthn.credential_exists",
      "webauthn.credential_exists",
    ]);
    // Another tenant is another relying party: the same id may be registered there.
    expect(
      await w.codeOf(
        w.register(w.authenticator(), {
          tenant: "globex",
          knobs: { credentialId: first.credentialId },
        }),
      ),
    ).toBe("ok");
  });
});
