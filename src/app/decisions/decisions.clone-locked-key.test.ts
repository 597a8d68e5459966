// Threat: a cloned security key. Its holder signs in first with the copy (a higher counter), and
// the platform keeps the WebAuthn event of that sign-in in its session. When the owner's key then
// presents a lower counter, tenant-mfa sees the clone and, under the tenant's `lock` policy, locks
// the credential so that neither copy signs in until an administrator acts. The session's next
// decision cites the copy's verification: it must not count, as a removed key's does not (DESIGN
// invariant 3). Under `reject`, the default, a clone signal refuses one assertion and nothing more.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

const cloneLockedKeyTests = (postgres: boolean) => () => {
  let w: WebAuthnWorld;
  beforeEach(async () => {
    w = await openWebAuthnWorld({ postgres });
  });
  afterEach(() => w.close());

  const decide = (mfa: AuthenticationEvent) =>
    w.h.app.decisions.decide(w.service.acme, "acme", {
      principal: { id: "alice" },
      evidence: {
        events: [
          { method: "password", source: "platform", at: w.h.clock.now().toISOString() },
          mfa,
        ],
      },
    });

  it("refuses a verification of the key made before a clone signal locked it, and counts one made after the unlock", async () => {
    await w.configure({ signCountPolicy: "lock" });
    const key = w.authenticator({ initialSignCount: 5 });
    await w.register(key);
    // The copy signs in first, with the higher counter.
    const { event: copys } = await w.authenticate(key, { knobs: { signCount: 40 } });
    expect(await decide(copys)).toMatchObject({ outcome: "allow" });
    w.h.clock.advance(60);
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 7 } }))).toBe(
      "webauthn.clone_detected",
    );
    expect(await outcomeOf(decide(copys))).toMatchObject({ code: "evidence.withdrawn" });
    const locked = (await w.audit()).filter((e) => e.type === "authenticator.locked");
    expect(locked.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        reason: "webauthn.clone_detected",
        sessionsEnded: 0,
        flowsReset: 0,
        codesWithdrawn: 0,
      }),
    ]);

    await w.h.app.authenticators.unlock(w.h.admin, "acme", "alice", {
      reason: "key replaced after the clone alert",
    });
    w.h.clock.advance(60);
    const { event: fresh } = await w.authenticate(key, { knobs: { signCount: 41 } });
    expect(await decide(fresh)).toMatchObject({ outcome: "allow" });
  });

  it("under `reject`, keeps a verification made before a clone signal, which locks nothing", async () => {
    await w.configure({ signCountPolicy: "reject" });
    const key = w.authenticator({ initialSignCount: 5 });
    await w.register(key);
    const { event } = await w.authenticate(key, { knobs: { signCount: 40 } });
    w.h.clock.advance(60);
    expect(await w.codeOf(w.authenticate(key, { knobs: { signCount: 7 } }))).toBe(
      "webauthn.clone_detected",
    );
    expect(await decide(event)).toMatchObject({ outcome: "allow" });
  });
};

describe("a verification of a key a clone signal locked (SQLite)", cloneLockedKeyTests(false));
describeOnPostgres(
  {
    title: "a verification of a key a clone signal locked (PostgreSQL)",
    skippedTitle: "a verification of a key a clone signal locked, on PostgreSQL",
    tests: "clone-locked key decision tests",
  },
  cloneLockedKeyTests(true),
);
