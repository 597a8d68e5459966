// Threat: phishing and relay. A response made on another origin, for another RP id, in a
// cross-origin frame, or for the other ceremony type (WebAuthn §7.2 steps 11–15, checklist
// W2–W3) is refused, at registration and at authentication alike.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Knobs } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

const attacks: [string, Knobs, string][] = [
  [
    "a look-alike origin",
    { origin: "https://mfa.test.evil.example" },
    "webauthn.origin_not_allowed",
  ],
  ["the right host over http", { origin: "http://mfa.test" }, "webauthn.origin_not_allowed"],
  [
    "the origin with a trailing slash",
    { origin: "https://mfa.test/" },
    "webauthn.origin_not_allowed",
  ],
  ["crossOrigin: true", { crossOrigin: true }, "webauthn.cross_origin"],
  ["a topOrigin", { topOrigin: "https://evil.example" }, "webauthn.cross_origin"],
  ["another RP id's hash", { rpId: "evil.example" }, "webauthn.rp_id_mismatch"],
];

describe("origin and RP binding at authentication", () => {
  for (const [name, knobs, code] of attacks) {
    it(`refuses ${name} as ${code}`, async () => {
      const key = w.authenticator();
      await w.register(key);
      expect(await w.codeOf(w.authenticate(key, { knobs }))).toBe(code);
    });
  }

  it("refuses a webauthn.create client data at authentication", async () => {
    const key = w.authenticator();
    await w.register(key);
    expect(await w.codeOf(w.authenticate(key, { knobs: { type: "webauthn.create" } }))).toBe(
      "webauthn.wrong_type",
    );
  });

  it("accepts a second origin only once the tenant lists it", async () => {
    const key = w.authenticator();
    await w.register(key);
    const knobs = { origin: "https://login.mfa.test" };
    expect(await w.codeOf(w.authenticate(key, { knobs }))).toBe("webauthn.origin_not_allowed");
    await w.configure({ origins: ["https://mfa.test", "https://login.mfa.test"] });
    expect(await w.codeOf(w.authenticate(key, { knobs }))).toBe("ok");
  });
});

describe("origin and RP binding at registration", () => {
  for (const [name, knobs, code] of attacks) {
    it(`refuses ${name} as ${code}`, async () => {
      expect(await w.codeOf(w.register(w.authenticator(), { knobs }))).toBe(code);
    });
  }

  it("refuses a webauthn.get client data at registration", async () => {
    expect(await w.codeOf(w.register(w.authenticator(), { knobs: { type: "webauthn.get" } }))).toBe(
      "webauthn.wrong_type",
    );
    expect(await w.h.app.authenticators.list(w.service.acme, "acme", "alice")).toEqual([]);
  });
});
