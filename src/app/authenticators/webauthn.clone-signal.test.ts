// Threat: a cloned authenticator (WebAuthn §6.1.1, checklist W6). A signature counter that does
// not grow, when either the stored or the received value is nonzero, is a clone signal: it is
// audited whatever the tenant's policy; under `reject` (the default) the assertion is refused,
// under `warn` it is accepted with a warning. The counter is kept by compare-and-set and never
// goes backwards. 0/0 (authenticators without a counter) is no signal.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

const stored = (world: WebAuthnWorld, id: string) =>
  world.h.store.read((r) => r.webauthnCredentials.get("acme", "alice", id));

describe("signature counter regression", () => {
  it("refuses a counter that did not grow under the default policy, audited", async () => {
    const key = w.authenticator({ initialSignCount: 5 });
    const view = await w.register(key);
    await w.authenticate(key);
    expect(await stored(w, view.id)).toMatchObject({ signCount: 6 });
    for (const signCount of [6, 3]) {
      expect(await w.codeOf(w.authenticate(key, { knobs: { signCount } }))).toBe(
        "webauthn.clone_detected",
      );
    }
    expect(await stored(w, view.id)).toMatchObject({ signCount: 6, failedAttempts: 2 });
    const clones = (await w.audit()).filter((e) => e.type === "webauthn.clone_detected");
    expect(clones.map((e) => e.payload)).toEqual([
      expect.objectContaining({ storedSignCount: 6, receivedSignCount: 6, policy: "reject" }),
      expect.objectContaining({ storedSignCount: 6, receivedSignCount: 3, policy: "reject" }),
    ]);
    // A later counter is accepted again.
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 7 } }))).toBe("ok");
  });

  it("refuses a counter that fell to 0 after it was nonzero", async () => {
    const key = w.authenticator({ initialSignCount: 2 });
    await w.register(key);
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 0 } }))).toBe(
      "webauthn.clone_detected",
    );
  });

  it("accepts with a warning under `warn`, audited, and keeps the higher counter", async () => {
    await w.configure({ signCountPolicy: "warn" });
    const key = w.authenticator({ initialSignCount: 10 });
    const view = await w.register(key);
    const result = await w.authenticate(key, { knobs: { signCount: 4 } });
    expect(result.warnings).toEqual([
      {
        code: "webauthn.clone_suspected",
        message: expect.stringContaining("4 after 10") as unknown,
      },
    ]);
    expect(result.event).toMatchObject({ method: "webauthn", userVerified: true });
    expect(await stored(w, view.id)).toMatchObject({ signCount: 10, failedAttempts: 0 });
    const types = (await w.audit()).map((e) => e.type);
    expect(types.slice(-2)).toEqual(["webauthn.clone_detected", "webauthn.verified"]);
    const verified = (await w.audit()).at(-1);
    expect(verified?.payload).toMatchObject({ warnings: ["webauthn.clone_suspected"] });
  });

  it("sees no signal in 0/0, the counter of most passkeys", async () => {
    const key = w.authenticator({ initialSignCount: 0, counterStep: 0 });
    await w.register(key);
    for (let n = 0; n < 3; n += 1) {
      const result = await w.authenticate(key);
      expect(result.warnings).toBeUndefined();
    }
    expect((await w.audit()).some((e) => e.type === "webauthn.clone_detected")).toBe(false);
  });

  it("a counter raised by a concurrent assertion is seen: exactly one of two from one counter passes", async () => {
    const key = w.authenticator({ initialSignCount: 20 });
    await w.register(key);
    const a = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    const b = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    // Both report 21: one of them is a clone's.
    const responses = [
      key.authenticate(a.options, { signCount: 21 }),
      key.authenticate(b.options, { signCount: 21 }),
    ];
    const codes = await Promise.all(
      [a, b].map((begun, i) =>
        w.codeOf(
          w.h.app.webauthn.finishAuthentication(
            w.service.acme,
            "acme",
            "alice",
            begun.authentication,
            {
              response: responses[i],
            },
          ),
        ),
      ),
    );
    expect(codes.sort()).toEqual(["ok", "webauthn.clone_detected"]);
  });
});
