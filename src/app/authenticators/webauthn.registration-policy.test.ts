// Threat: a credential the tenant did not ask for: a key algorithm not requested (checklist W8),
// or an authenticator model outside the tenant's AAGUID allow-list. With an allow-list set,
// registration asks for `direct` attestation, and only an attestation that chains to a root the
// operator configured proves the model: a claimed AAGUID alone is refused.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AttestationVendor } from "../../verifiers/webauthn/test-support/attestation-ca.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let vendor: AttestationVendor;
beforeAll(async () => {
  vendor = await AttestationVendor.create("Yubico Test");
});

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld({ attestationRoots: [vendor.rootPem] });
});
afterEach(() => w.close());

const YUBIKEY = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

describe("registration policy", () => {
  it("refuses a key whose algorithm was not requested (ES384)", async () => {
    expect(await w.codeOf(w.register(w.authenticator({ algorithm: -35 })))).toBe(
      "webauthn.algorithm_not_allowed",
    );
    for (const algorithm of [-8, -7, -257] as const) {
      expect(await w.codeOf(w.register(w.authenticator({ algorithm })))).toBe("ok");
    }
  });

  it("asks for direct attestation with an allow-list, and refuses models not listed", async () => {
    await w.configure({ aaguids: [YUBIKEY.toUpperCase()] });
    const settings = await w.h.app.webauthn.settings(w.h.admin, "acme");
    expect(settings).toMatchObject({ attestation: "direct", aaguids: [YUBIKEY], source: "tenant" });
    const begun = await w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "alice");
    expect(begun.options.attestation).toBe("direct");

    const OTHER = "ee882879-721c-4913-9775-3dfcce97072a";
    const other = w.authenticator({
      aaguid: OTHER,
      attestation: await vendor.batch({ aaguid: OTHER }),
    });
    expect(await w.codeOf(w.register(other))).toBe("webauthn.aaguid_not_allowed");
    const failed = (await w.audit()).filter((e) => e.type === "webauthn.registration_failed");
    expect(failed.at(-1)?.payload).toMatchObject({ reason: "webauthn.aaguid_not_allowed" });

    const listed = w.authenticator({
      aaguid: YUBIKEY,
      attestation: await vendor.batch({ aaguid: YUBIKEY }),
    });
    expect(await w.register(listed)).toMatchObject({ aaguid: YUBIKEY, attested: true });
  });

  it("refuses a listed model that only says it is one: self attestation, none, a foreign root", async () => {
    await w.configure({ aaguids: [YUBIKEY] });
    const stranger = await AttestationVendor.create("Yubico Test");
    const claims = ["packed-self", "none", await stranger.batch({ aaguid: YUBIKEY })] as const;
    for (const attestation of claims) {
      const claimant = w.authenticator({ aaguid: YUBIKEY, attestation });
      expect(await w.codeOf(w.register(claimant))).toBe("webauthn.attestation_untrusted");
    }
    const failed = (await w.audit()).filter((e) => e.type === "webauthn.registration_failed");
    expect(failed.map((e) => e.payload.reason)).toEqual(
      Array(3).fill("webauthn.attestation_untrusted"),
    );
    expect(await w.h.app.authenticators.list(w.service.acme, "acme", "alice")).toEqual([]);
  });

  it("refuses an allow-list on a server with no attestation roots: nothing could prove a model", async () => {
    const bare = await openWebAuthnWorld();
    try {
      expect(await bare.codeOf(bare.configure({ aaguids: [YUBIKEY] }))).toBe(
        "webauthn.settings_invalid",
      );
      expect(await bare.codeOf(bare.configure({ attestation: "direct" }))).toBe("ok");
    } finally {
      await bare.close();
    }
  });

  it("validates the settings: RP id a registrable suffix of every origin, https or localhost", async () => {
    const put = (settings: Record<string, unknown>) =>
      w.codeOf(
        w.h.app.webauthn.putSettings(w.h.admin, "acme", {
          rpId: "example.com",
          origins: ["https://example.com"],
          ...settings,
        }),
      );
    expect(await put({ origins: ["https://login.example.com", "https://example.com:8443"] })).toBe(
      "ok",
    );
    for (const bad of [
      { origins: ["https://example.org"] },
      { origins: ["https://notexample.com"] },
      { origins: ["http://example.com"] },
      { origins: ["https://example.com/path"] },
      { origins: [] },
      { rpId: "com", origins: ["https://com"] },
      { rpId: "127.0.0.1", origins: ["http://127.0.0.1"] },
      { rpId: "Example.com" },
      { aaguids: ["not-an-aaguid"] },
    ]) {
      expect(await put(bad), JSON.stringify(bad)).toBe("webauthn.settings_invalid");
    }
    expect(await put({ rpId: "localhost", origins: ["http://localhost:8080"] })).toBe("ok");
    expect(await put({ rpId: "acme.localhost", origins: ["http://acme.localhost:8080"] })).toBe(
      "ok",
    );
    const changed = (await w.audit()).filter((e) => e.type === "webauthn.settings_changed");
    expect(changed).toHaveLength(3);
    expect(changed.at(-1)?.payload).toMatchObject({ rpId: "acme.localhost" });
  });
});
