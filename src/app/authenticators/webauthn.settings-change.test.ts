// Threat: a tenant tightens its WebAuthn settings (requires user verification, drops an origin,
// moves its RP id) after a phishing report, and the instance keeps judging ceremonies by the
// settings it cached. The ceremonies take the settings from a per-instance cache; a change made
// through the instance must bind the very next ceremony there, even one begun before it. The
// clock is frozen, so the cache's one-second expiry cannot be what makes these pass.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

describe("a change of the tenant's WebAuthn settings on the same instance", () => {
  it("refuses UV=0 at the very next finish once UV is required, for a ceremony begun before", async () => {
    await w.configure({ userVerification: "preferred" });
    const key = w.authenticator();
    await w.register(key, { knobs: { uv: false } });
    expect(await w.codeOf(w.authenticate(key, { knobs: { uv: false } }))).toBe("ok");
    const begun = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    await w.configure({ userVerification: "required" });
    const answer = w.h.app.webauthn.finishAuthentication(
      w.service.acme,
      "acme",
      "alice",
      begun.authentication,
      { response: key.authenticate(begun.options, { uv: false }) },
    );
    expect(await w.codeOf(answer)).toBe("webauthn.user_not_verified");
    const next = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    expect(next.options.userVerification).toBe("required");
  });

  it("refuses an origin at the very next ceremony once it is no longer listed", async () => {
    await w.configure({ origins: ["https://mfa.test", "https://login.mfa.test"] });
    const key = w.authenticator();
    await w.register(key);
    const knobs = { origin: "https://login.mfa.test" };
    expect(await w.codeOf(w.authenticate(key, { knobs }))).toBe("ok");
    await w.configure({ origins: ["https://mfa.test"] });
    expect(await w.codeOf(w.authenticate(key, { knobs }))).toBe("webauthn.origin_not_allowed");
    expect(await w.codeOf(w.authenticate(key))).toBe("ok");
  });

  it("asks for and checks the new RP id at the very next ceremony", async () => {
    const key = w.authenticator();
    await w.register(key);
    expect(await w.codeOf(w.authenticate(key))).toBe("ok");
    await w.configure({ rpId: "login.mfa.test", origins: ["https://login.mfa.test"] });
    const begun = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    expect(begun.options.rpId).toBe("login.mfa.test");
    // The credential is scoped to the old RP id: its authenticator data hashes mfa.test.
    const answer = w.h.app.webauthn.finishAuthentication(
      w.service.acme,
      "acme",
      "alice",
      begun.authentication,
      { response: key.authenticate(begun.options, { origin: "https://login.mfa.test" }) },
    );
    expect(await w.codeOf(answer)).toBe("webauthn.rp_id_mismatch");
  });
});
