// Threat: an attacker edits what the authenticator signed (client data, authenticator data) or
// forges the signature (WebAuthn §7.2 steps 20–21, checklist W7). Each is refused with
// `webauthn.bad_signature`, counted against the credential and audited; the library's
// `verified: false` is what catches it, so the flag is checked, not assumed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

describe("tampered assertions", () => {
  const cases = {
    "client data with an extra member": {
      tamperClientData: (json: string) => json.replace(/}$/, ',"extra":"x"}'),
    },
    "authenticator data with a raised counter": {
      tamperAuthData: (bytes: Buffer) => {
        bytes[36] = (bytes[36] ?? 0) + 1;
      },
    },
    "a signature by another key": { bogusSignature: true },
  };
  for (const [name, knobs] of Object.entries(cases)) {
    it(`refuses ${name} as webauthn.bad_signature, counted and audited`, async () => {
      const key = w.authenticator({ initialSignCount: 10 });
      const view = await w.register(key);
      expect(await w.codeOf(w.authenticate(key, { knobs }))).toBe("webauthn.bad_signature");
      const stored = await w.h.store.read((r) =>
        r.webauthnCredentials.get("acme", "alice", view.id),
      );
      expect(stored).toMatchObject({ failedAttempts: 1, signCount: 10 });
      const failed = (await w.audit()).filter((e) => e.type === "webauthn.authentication_failed");
      expect(failed.map((e) => e.payload)).toEqual([
        expect.objectContaining({
          principal: "alice",
          authenticator: view.id,
          reason: "webauthn.bad_signature",
          failedAttempts: 1,
        }),
      ]);
      // The honest authenticator still gets in, and the count is cleared.
      await w.authenticate(key);
      expect(
        await w.h.store.read((r) => r.webauthnCredentials.get("acme", "alice", view.id)),
      ).toMatchObject({ failedAttempts: 0 });
    });
  }

  it("refuses a response that is not a WebAuthn credential as webauthn.malformed_response", async () => {
    const key = w.authenticator();
    const view = await w.register(key);
    for (const response of [
      null,
      "text",
      { id: view.credentialId },
      { id: view.credentialId, rawId: view.credentialId, type: "public-key", response: {} },
      {
        id: view.credentialId,
        rawId: view.credentialId,
        type: "public-key",
        response: { clientDataJSON: "!!", authenticatorData: "AA", signature: "AA" },
      },
    ]) {
      const begun = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
      const answer = w.h.app.webauthn.finishAuthentication(
        w.service.acme,
        "acme",
        "alice",
        begun.authentication,
        { response },
      );
      expect(await w.codeOf(answer)).toMatch(/^webauthn\.(malformed_response|credential_unknown)$/);
    }
  });
});
