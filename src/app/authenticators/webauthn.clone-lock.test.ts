// Threat: a cloned authenticator that keeps signing in (WebAuthn §6.1.1, checklist W6). Under
// `reject` a clone signal refuses one assertion, but whichever copy next presents a higher counter
// signs in, so the holder of a cloned key goes on. Under `lock` the assertion is refused and the
// credential locked in the same transaction: neither copy signs in until an administrator unlocks
// the principal, and both the clone signal and the lock are audited.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

const cloneLockTests = (postgres: boolean) => () => {
  let w: WebAuthnWorld;
  beforeEach(async () => {
    w = await openWebAuthnWorld({ postgres });
  });
  afterEach(() => w.close());

  const stored = (id: string) =>
    w.h.store.read((r) => r.webauthnCredentials.get("acme", "alice", id));

  it("locks the credential on a clone signal: a higher counter is then refused until an administrator unlocks", async () => {
    await w.configure({ signCountPolicy: "lock" });
    const key = w.authenticator({ initialSignCount: 5 });
    const view = await w.register(key);
    await w.authenticate(key);
    expect(await stored(view.id)).toMatchObject({ signCount: 6, failedAttempts: 0 });

    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 3 } }))).toBe(
      "webauthn.clone_detected",
    );
    const locked = await stored(view.id);
    expect(locked).toMatchObject({ signCount: 6, failedAttempts: 1 });
    expect(locked?.lockedAt).toBe(w.h.clock.now().toISOString());

    const refusal = await w.audit();
    expect(refusal.slice(-3).map((e) => [e.type, e.payload])).toEqual([
      [
        "webauthn.clone_detected",
        expect.objectContaining({
          authenticator: view.id,
          storedSignCount: 6,
          receivedSignCount: 3,
          policy: "lock",
        }),
      ],
      [
        "authenticator.locked",
        expect.objectContaining({
          authenticator: view.id,
          kind: "webauthn",
          failedAttempts: 1,
          reason: "webauthn.clone_detected",
        }),
      ],
      [
        "webauthn.authentication_failed",
        expect.objectContaining({ authenticator: view.id, reason: "webauthn.clone_detected" }),
      ],
    ]);

    // The copy with the higher counter, the one `reject` lets in, is refused too, and the
    // counter is not moved by it.
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 50 } }))).toBe(
      "webauthn.locked",
    );
    expect(await stored(view.id)).toMatchObject({ signCount: 6 });
    const after = await w.audit();
    expect(after.filter((e) => e.type === "authenticator.locked")).toHaveLength(1);
    expect(after.at(-1)).toMatchObject({
      type: "webauthn.authentication_failed",
      payload: { authenticator: view.id, reason: "webauthn.locked" },
    });

    const unlocked = await w.h.app.authenticators.unlock(w.h.admin, "acme", "alice", {
      reason: "key replaced after the clone alert",
    });
    expect(unlocked.authenticators).toEqual([view.id]);
    expect(await stored(view.id)).toMatchObject({ failedAttempts: 0 });
    expect((await stored(view.id))?.lockedAt).toBeUndefined();
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 51 } }))).toBe("ok");
    expect(await stored(view.id)).toMatchObject({ signCount: 51 });
  });

  it("locks only the credential that showed the signal", async () => {
    await w.configure({ signCountPolicy: "lock" });
    const cloned = w.authenticator({ initialSignCount: 9 });
    const other = w.authenticator({ initialSignCount: 9 });
    const clonedView = await w.register(cloned);
    const otherView = await w.register(other);
    expect(await w.codeOf(w.authenticate(cloned, { knobs: { signCount: 9 } }))).toBe(
      "webauthn.clone_detected",
    );
    expect((await stored(clonedView.id))?.lockedAt).toBeDefined();
    expect(await w.codeOf(w.authenticate(other))).toBe("ok");
    expect((await stored(otherView.id))?.lockedAt).toBeUndefined();
  });

  it("leaves the credential usable under `reject`, the default", async () => {
    const key = w.authenticator({ initialSignCount: 5 });
    const view = await w.register(key);
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 3 } }))).toBe(
      "webauthn.clone_detected",
    );
    expect((await stored(view.id))?.lockedAt).toBeUndefined();
    expect((await w.audit()).some((e) => e.type === "authenticator.locked")).toBe(false);
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 50 } }))).toBe("ok");
  });
};

describe("a clone signal under the `lock` policy (SQLite)", cloneLockTests(false));
describeOnPostgres(
  {
    title: "a clone signal under the `lock` policy (PostgreSQL)",
    skippedTitle: "a clone signal under the `lock` policy on PostgreSQL",
    tests: "WebAuthn clone-lock tests",
  },
  cloneLockTests(true),
);
