// Threat: a purge that forgets too much. Throttle rows are deleted once they hold nothing, so
// that an attacker rotating client addresses cannot grow the table without bound; but a purge
// that deleted a row whose failures still count, whose backoff still runs or whose lock still
// stands would hand the attacker a fresh start. A purged key must behave exactly as a key never
// seen, never sooner than its backoff allowed; locks (even expired ones) stay; other tenants'
// rows that hold something stay.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Caller } from "../application.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  rightCode,
  verifyWith,
  wrongCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import {
  backoffSeconds,
  CLIENT_ADDRESS_SCOPE,
  throttleRetentionSeconds,
  VERIFICATION_THROTTLE_DEFAULTS,
  verificationThrottle,
  type VerificationAttempt,
  type VerificationThrottlePolicy,
} from "./verification-throttle.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const DAY = 86_400;
const RETENTION = throttleRetentionSeconds(VERIFICATION_THROTTLE_DEFAULTS);

describe("the purge of throttle rows", () => {
  let h: Harness;
  let service: Caller;

  const row = (tenant: string, key: string) =>
    h.store.transaction((r) => r.verificationThrottles.get(tenant, key));
  /** A key's state without its name, to compare two keys. */
  const stateOf = async (tenant: string, key: string) => {
    const found = await row(tenant, key);
    if (found === undefined) return undefined;
    const { key: _key, ...rest } = found;
    return rest;
  };

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    await h.app.tenants.create(h.admin, { id: "beta", name: "Beta Ltd" });
    service = await h.caller(["platform_service"], ["acme", "beta"]);
  });
  afterEach(() => h.close());

  it("keeps a week's retention, longer than any window of the default policy", () => {
    expect(RETENTION).toBe(7 * DAY);
    const { principal, client, lock, freshMfaSeconds } = VERIFICATION_THROTTLE_DEFAULTS;
    for (const window of [
      principal.forgetAfterSeconds,
      client.forgetAfterSeconds,
      principal.maxSeconds,
      client.maxSeconds,
      lock.timeoutSeconds,
      freshMfaSeconds,
    ]) {
      expect(RETENTION).toBeGreaterThan(window);
    }
  });

  it("treats a purged principal and address exactly as ones never seen", async () => {
    const alice = await enrolTotp(h, service, "acme", "alice");
    const bob = await enrolTotp(h, service, "acme", "bob");
    h.clock.advance(60);
    // Alice fails seven times from her address, waiting out each backoff, then succeeds: her
    // count restarts, her address's does not.
    for (let n = 1; n <= 7; n += 1) {
      await verifyWith(h, service, alice, wrongCode(h, alice), "198.51.100.7");
      h.clock.advance(backoffSeconds(VERIFICATION_THROTTLE_DEFAULTS.principal, n));
    }
    h.clock.advance(30);
    expect((await verifyWith(h, service, alice, rightCode(h, alice), "198.51.100.7")).code).toBe(
      "accepted",
    );
    expect(await row("acme", "client:198.51.100.7")).toMatchObject({ consecutiveFailures: 7 });

    // Past every window but within the retention, nothing goes.
    h.clock.advance(2 * DAY);
    const carol = await enrolTotp(h, service, "acme", "carol");
    h.clock.advance(60);
    await verifyWith(h, service, carol, rightCode(h, carol));
    expect(await row("acme", "principal:alice")).toBeDefined();
    expect(await row("acme", "client:198.51.100.7")).toBeDefined();

    // Past the retention: Alice's next attempt purges her rows first, then counts from zero,
    // as Bob's first attempts from a new address do.
    h.clock.advance(RETENTION);
    const run = async (totp: EnrolledTotp, address: string) => {
      const outcomes = [];
      for (let n = 0; n < 8; n += 1) {
        outcomes.push(await verifyWith(h, service, totp, wrongCode(h, totp), address));
      }
      return outcomes;
    };
    const aliceRun = await run(alice, "198.51.100.7");
    expect(await row("acme", "principal:bob")).toBeUndefined();
    const bobRun = await run(bob, "198.51.100.8");
    expect(aliceRun).toEqual(bobRun);
    expect(aliceRun.map((o) => o.code)).toEqual([
      ...Array<string>(6).fill("totp.wrong_code"),
      "authenticator.throttled",
      "authenticator.throttled",
    ]);
    expect(await stateOf("acme", "principal:alice")).toStrictEqual(
      await stateOf("acme", "principal:bob"),
    );
    expect(await stateOf("acme", "client:198.51.100.7")).toStrictEqual(
      await stateOf("acme", "client:198.51.100.8"),
    );
    const failures = await h.app.audit.list(
      h.admin,
      "acme",
      { type: "authenticator.verification_failed" },
      { limit: 100 },
    );
    const counts = (principal: string) =>
      failures.items
        .filter((e) => e.payload.principal === principal)
        .map((e) => [e.payload.principalFailures, e.payload.clientFailures])
        .slice(-6);
    expect(counts("alice")).toEqual(counts("bob"));
  });

  it("leaves rows that hold something, in every tenant, and purges at most once a minute", async () => {
    const carol = await enrolTotp(h, service, "acme", "carol");
    h.clock.advance(60);
    const old = new Date(h.clock.now().getTime() - (RETENTION + DAY) * 1000).toISOString();
    const stale = (tenant: string, key: string) =>
      h.store.transaction((r) =>
        r.verificationThrottles.recordFailure(tenant, key, { at: old, forgetBefore: old }),
      );
    await stale("acme", "client:203.0.113.1");
    await stale("beta", "client:203.0.113.1");
    await stale(CLIENT_ADDRESS_SCOPE, "client:203.0.113.1");
    await stale("beta", "principal:erin");
    // Beta's principal failed a moment ago: its row holds a count that counts.
    const dave = await enrolTotp(h, service, "beta", "dave");
    await verifyWith(h, service, dave, wrongCode(h, dave), "203.0.113.2");
    const daveBefore = await row("beta", "principal:dave");
    const clientBefore = await row("beta", "client:203.0.113.2");
    expect(daveBefore).toMatchObject({ consecutiveFailures: 1 });

    await verifyWith(h, service, carol, rightCode(h, carol));
    expect(await row("acme", "client:203.0.113.1")).toBeUndefined();
    expect(await row("beta", "client:203.0.113.1")).toBeUndefined();
    expect(await row(CLIENT_ADDRESS_SCOPE, "client:203.0.113.1")).toBeUndefined();
    expect(await row("beta", "principal:erin")).toBeUndefined();
    expect(await row("beta", "principal:dave")).toStrictEqual(daveBefore);
    expect(await row("beta", "client:203.0.113.2")).toStrictEqual(clientBefore);

    // Within the minute nothing more is purged; after it, the next verification purges.
    await stale("acme", "client:203.0.113.3");
    h.clock.advance(59);
    await verifyWith(h, service, carol, wrongCode(h, carol));
    expect(await row("acme", "client:203.0.113.3")).toBeDefined();
    h.clock.advance(1);
    await verifyWith(h, service, carol, wrongCode(h, carol));
    expect(await row("acme", "client:203.0.113.3")).toBeUndefined();
  });
});

describe("the purge under a policy with long waits", () => {
  let h: Harness;
  const attempt: VerificationAttempt = {
    tenant: "acme",
    principal: "erin",
    clientAddress: "192.0.2.9",
    actor: "test",
  };
  // Every failure costs 20 days, and two lock the principal for 30: windows beyond a week.
  const policy: VerificationThrottlePolicy = {
    ...VERIFICATION_THROTTLE_DEFAULTS,
    principal: {
      freeFailures: 0,
      baseSeconds: 20 * DAY,
      maxSeconds: 20 * DAY,
      forgetAfterSeconds: 40 * DAY,
    },
    lock: { afterFailures: 2, timeoutSeconds: 30 * DAY },
  };

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
  });
  afterEach(() => h.close());

  const guard = (throttle: ReturnType<typeof verificationThrottle>) =>
    h.store.transaction((r) => throttle.guard(r, attempt));

  it("keeps a row while its backoff runs, however long ago its failure", async () => {
    const throttle = verificationThrottle(h.context, policy);
    expect(throttleRetentionSeconds(policy)).toBe(40 * DAY);
    await h.store.transaction((r) => throttle.recordFailure(r, attempt));
    h.clock.advance(10 * DAY);
    await throttle.purgeIfDue();
    expect(await guard(throttle)).toEqual({
      code: "authenticator.throttled",
      retryAfter: 10 * DAY,
    });
    // A retention (40 days: the forget window) after the failure the address's row goes; the
    // principal's stays until a retention after its backoff ran out (day 20).
    const rows = () =>
      h.store.transaction(async (r) => [
        await r.verificationThrottles.get("acme", "principal:erin"),
        await r.verificationThrottles.get("acme", "client:192.0.2.9"),
      ]);
    h.clock.advance(31 * DAY);
    expect(await throttle.purgeIfDue()).toBeGreaterThanOrEqual(1);
    expect((await rows()).map((state) => state?.consecutiveFailures)).toEqual([1, undefined]);
    h.clock.advance(20 * DAY);
    expect(await throttle.purgeIfDue()).toBeGreaterThanOrEqual(1);
    expect(await rows()).toEqual([undefined, undefined]);
    expect(await guard(throttle)).toBeUndefined();
  });

  it("never purges a lock, even long expired, so that its lifting is audited", async () => {
    const throttle = verificationThrottle(h.context, policy);
    await h.store.transaction((r) => throttle.recordFailure(r, attempt));
    h.clock.advance(20 * DAY);
    const second = await h.store.transaction((r) => throttle.recordFailure(r, attempt));
    expect(second).toMatchObject({ principalFailures: 2, locked: true });
    h.clock.advance(365 * DAY);
    await throttle.purgeIfDue();
    expect(
      await h.store.transaction((r) => r.verificationThrottles.get("acme", "principal:erin")),
    ).toMatchObject({ consecutiveFailures: 2 });
    expect(await guard(throttle)).toBeUndefined();
    const unlocked = await h.app.audit.list(
      h.admin,
      "acme",
      { type: "authenticator.unlocked" },
      { limit: 10 },
    );
    expect(unlocked.items.map((e) => [e.payload.by, e.payload.failedAttempts])).toEqual([
      ["timeout", 2],
    ]);
  });
});
