// The WebAuthn ceremonies end to end through the use cases, the real verifier and SQLite: a
// principal registers several named credentials, authenticates, lists them beside TOTP, removes
// one; every step is audited, and no audit event carries a challenge, a signature or a key.
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import {
  openWebAuthnWorld,
  TEST_ORIGIN,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

describe("WebAuthn ceremonies", () => {
  it("registers a credential with options the browser can use, and authenticates with it", async () => {
    const begun = await w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "alice");
    expect(begun.registration).toMatch(/^wreg_/);
    expect(begun.expiresAt).toBe(new Date(w.h.clock.now().getTime() + 300_000).toISOString());
    expect(begun.options).toMatchObject({
      rp: { id: "mfa.test", name: "acme corp" },
      user: { name: "alice@acme.example" },
      attestation: "none",
      authenticatorSelection: { userVerification: "required" },
      excludeCredentials: [],
    });
    // 32 random bytes, base64url.
    expect(Buffer.from(String(begun.options.challenge), "base64url")).toHaveLength(32);

    const key = w.authenticator();
    const view = await w.h.app.webauthn.finishRegistration(
      w.service.acme,
      "acme",
      "alice",
      begun.registration,
      { response: key.register(begun.options), name: "YubiKey 5" },
    );
    expect(view).toMatchObject({
      kind: "webauthn",
      status: "active",
      name: "YubiKey 5",
      backupEligible: false,
      backupState: false,
      deviceType: "single_device",
      userVerified: true,
      algorithm: -7,
      signCount: 0,
    });
    expect(view).not.toHaveProperty("publicKey");

    const started = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    expect(started.options).toMatchObject({
      rpId: "mfa.test",
      userVerification: "required",
      allowCredentials: [{ id: view.credentialId, type: "public-key" }],
    });
    w.h.clock.advance(10);
    const result = await w.h.app.webauthn.finishAuthentication(
      w.service.acme,
      "acme",
      "alice",
      started.authentication,
      { response: key.authenticate(started.options) },
    );
    expect(result).toEqual({
      event: {
        method: "webauthn",
        source: "platform",
        at: w.h.clock.now().toISOString(),
        userVerified: true,
        backupEligible: false,
        attested: false,
        credentialId: view.credentialId,
        verification: expect.stringMatching(/^evt_/),
      },
      authenticator: expect.objectContaining({
        id: view.id,
        lastUsedAt: w.h.clock.now().toISOString(),
      }) as unknown,
    });
  });

  it("holds several named credentials, lists them beside TOTP, and removes one, audited", async () => {
    const laptop = await w.register(w.authenticator({ algorithm: -8 }), { name: "laptop" });
    const phoneKey = w.authenticator({ backupEligible: true, backupState: true });
    const phone = await w.register(phoneKey, { name: "phone" });
    w.h.clock.advance(1);
    await provedMfaJustNow(w.h, "acme", "alice");
    const totp = await w.h.app.authenticators.beginTotp(w.service.acme, "acme", "alice", {});
    const listed = await w.h.app.authenticators.list(w.service.acme, "acme", "alice");
    expect(listed.map((a) => [a.kind, a.name])).toEqual([
      ["webauthn", "laptop"],
      ["webauthn", "phone"],
      ["totp", "Authenticator app"],
    ]);
    expect(listed[1]).toMatchObject({
      backupEligible: true,
      backupState: true,
      deviceType: "multi_device",
    });
    expect(JSON.stringify(listed)).not.toMatch(/publicKey|sealed/);

    // The second registration excluded the first credential.
    await provedMfaJustNow(w.h, "acme", "alice");
    const again = await w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "alice");
    expect(again.options.excludeCredentials).toEqual([
      expect.objectContaining({ id: laptop.credentialId }),
      expect.objectContaining({ id: phone.credentialId }),
    ]);

    // The platform's backend removes a credential after a fresh MFA, as it removes TOTP.
    const verified = await w.authenticate(phoneKey);
    await w.h.app.authenticators.remove(w.service.acme, "acme", "alice", laptop.id);
    await w.h.app.authenticators.remove(w.service.acme, "acme", "alice", totp.authenticator.id);
    expect(
      (await w.h.app.authenticators.list(w.service.acme, "acme", "alice")).map((a) => a.id),
    ).toEqual([phone.id]);
    expect(
      await w.codeOf(w.h.app.authenticators.remove(w.service.acme, "acme", "alice", laptop.id)),
    ).toBe("not_found");
    const removed = (await w.audit()).filter((e) => e.type === "authenticator.removed");
    expect(removed.map((e) => e.payload)).toEqual([
      {
        principal: "alice",
        authenticator: laptop.id,
        kind: "webauthn",
        credentialId: laptop.credentialId,
        name: "laptop",
        role: "platform_service",
        sessionsEnded: 0,
        flowsReset: 0,
        codesWithdrawn: 0,
        freshMfaAt: verified.event.at,
      },
      expect.objectContaining({ authenticator: totp.authenticator.id, kind: "totp" }),
    ]);
  });

  it("audits each step, and never a challenge, a signature or a public key", async () => {
    const key = w.authenticator();
    const begun = await w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "alice");
    const response = key.register(begun.options);
    await w.h.app.webauthn.finishRegistration(w.service.acme, "acme", "alice", begun.registration, {
      response,
    });
    const started = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    const assertion = key.authenticate(started.options);
    await w.h.app.webauthn.finishAuthentication(
      w.service.acme,
      "acme",
      "alice",
      started.authentication,
      {
        response: assertion,
      },
    );
    const events = await w.audit();
    expect(events.map((e) => e.type).filter((t) => t.startsWith("webauthn."))).toEqual([
      "webauthn.registration_started",
      "webauthn.registered",
      "webauthn.verified",
    ]);
    const text = JSON.stringify(events);
    const secrets = [
      String(begun.options.challenge),
      String(started.options.challenge),
      (assertion.response as { signature: string }).signature,
      (response.response as { attestationObject: string }).attestationObject,
      (assertion.response as { clientDataJSON: string }).clientDataJSON,
    ];
    for (const secret of secrets) expect(text).not.toContain(secret);
    const registered = await w.h.store.read((r) => r.webauthnCredentials.list("acme", "alice"));
    expect(text).not.toContain(registered[0]?.publicKey);
  });

  it("asks the defaults from the public URL, and without one answers webauthn.not_configured", async () => {
    expect(await w.h.app.webauthn.settings(w.h.admin, "acme")).toMatchObject({
      source: "default",
      rpId: "mfa.test",
      origins: [TEST_ORIGIN],
      userVerification: "required",
      attestation: "none",
      aaguids: [],
      signCountPolicy: "reject",
    });
    const bare = await openWebAuthnWorld({ webauthn: { protocol: createWebAuthnProtocol() } });
    try {
      expect(await bare.codeOf(bare.h.app.webauthn.settings(bare.h.admin, "acme"))).toBe(
        "webauthn.not_configured",
      );
      expect(
        await bare.codeOf(
          bare.h.app.webauthn.beginRegistration(bare.service.acme, "acme", "alice"),
        ),
      ).toBe("webauthn.not_configured");
      await bare.configure({});
      expect(await bare.register(bare.authenticator())).toMatchObject({ kind: "webauthn" });
    } finally {
      await bare.close();
    }
  });

  it("says why a public URL that cannot be a relying party gives no defaults, not that there is none", async () => {
    // The server's default public URL, http://HOST:PORT, is an IP address: no RP id.
    const byAddress = await openWebAuthnWorld({
      webauthn: { protocol: createWebAuthnProtocol(), publicUrl: "http://127.0.0.1:8080" },
    });
    try {
      const refusal = await byAddress.h.app.webauthn.settings(byAddress.h.admin, "acme").then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toMatchObject({ code: "webauthn.not_configured" });
      const message = (refusal as Error).message;
      expect(message).not.toMatch(/no public URL/);
      expect(message).toContain("http://127.0.0.1:8080");
      expect(message).toContain("PUT /v1/tenants/:tenant/webauthn");
    } finally {
      await byAddress.close();
    }
  });

  it("refuses to begin an authentication for a principal without credentials", async () => {
    expect(
      await w.codeOf(w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "bob")),
    ).toBe("webauthn.no_credentials");
    expect(
      await w.codeOf(w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "nobody")),
    ).toBe("principal.unknown");
  });
});
