// Threat: an assertion without the user's presence or verification counted as more than it
// proves (WebAuthn §7.2 steps 16–17, checklist W4, SP 800-63B-4 §3.2.6). UP=0 is always
// refused. UV=0 is refused server-side when the tenant requires UV (the default), whatever the
// client asked for; when the tenant prefers UV it is accepted, and the event says
// `userVerified: false`, which the engine counts as one factor.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assuranceOf } from "../../core/assurance.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

describe("user presence and verification", () => {
  it("refuses UP=0 at authentication and at registration", async () => {
    const key = w.authenticator();
    await w.register(key);
    expect(await w.codeOf(w.authenticate(key, { knobs: { up: false } }))).toBe(
      "webauthn.user_not_present",
    );
    expect(await w.codeOf(w.register(w.authenticator(), { knobs: { up: false } }))).toBe(
      "webauthn.user_not_present",
    );
  });

  it("refuses UV=0 when the tenant requires it (the default), even if the client asked less", async () => {
    const key = w.authenticator();
    await w.register(key);
    const begun = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    // A client that downgraded `userVerification` to discouraged and sent UV=0.
    const response = key.authenticate(
      { ...begun.options, userVerification: "discouraged" },
      { uv: false },
    );
    const answer = w.h.app.webauthn.finishAuthentication(
      w.service.acme,
      "acme",
      "alice",
      begun.authentication,
      { response },
    );
    expect(await w.codeOf(answer)).toBe("webauthn.user_not_verified");
    expect(await w.codeOf(w.register(w.authenticator(), { knobs: { uv: false } }))).toBe(
      "webauthn.user_not_verified",
    );
  });

  it("accepts UV=0 when the tenant prefers UV, as one factor", async () => {
    await w.configure({ userVerification: "preferred" });
    const key = w.authenticator();
    const view = await w.register(key, { knobs: { uv: false } });
    expect(view.userVerified).toBe(false);
    const begun = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    expect(begun.options.userVerification).toBe("preferred");
    const { event } = await w.h.app.webauthn.finishAuthentication(
      w.service.acme,
      "acme",
      "alice",
      begun.authentication,
      { response: key.authenticate(begun.options, { uv: false }) },
    );
    expect(event).toMatchObject({ method: "webauthn", userVerified: false });
    // One factor on its own: AAL1 (SP 800-63B-4 §3.2.6; checklist N3).
    expect(assuranceOf(event)).toEqual({ aal: 1, phishingResistant: true });
    const verified = (await w.audit()).filter((e) => e.type === "webauthn.verified");
    expect(verified.at(-1)?.payload).toMatchObject({ userVerified: false });
    // The same credential with UV counts as two factors.
    const { event: withUv } = await w.authenticate(key);
    expect(withUv.userVerified).toBe(true);
    // (AAL2: not attested hardware; webauthn.attestation.test.ts covers AAL3.)
    expect(assuranceOf(withUv)).toEqual({ aal: 2, phishingResistant: true });
  });
});
