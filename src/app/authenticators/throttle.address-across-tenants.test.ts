// Threat: credential stuffing spread over tenants. One client address tries one wrong guess at a
// principal in each of many tenants. Were the address counted per tenant, each tenant would give
// it 20 free failures of its own, and a spray over N tenants 20 × N. When the platform's own
// backend (a key that reaches every tenant) reports the address, its count is one, platform-wide
// (every tenant's attempts from it queue on one row), while a principal's count stays its
// tenant's: the same principal id in another tenant is another principal. (A key of some tenants
// only counts the addresses it reports in each tenant: throttle.address-scope.test.ts.)
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

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

describe("credential stuffing from one client address across tenants", () => {
  let h: Harness;
  let service: Caller;
  let victims: EnrolledTotp[];
  const tenants = Array.from({ length: 22 }, (_, n) => `org-${String(n)}`);

  beforeEach(async () => {
    h = await openHarness();
    for (const id of tenants) await h.app.tenants.create(h.admin, { id, name: id });
    service = await h.caller(["platform_service"], "all");
    victims = [];
    for (const tenant of tenants) victims.push(await enrolTotp(h, service, tenant, "user"));
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  it("throttles the address after 20 failures, whichever tenants they were in", async () => {
    const attacker = "198.51.100.7";
    const failures: unknown[] = [];
    for (const victim of victims.slice(0, 21)) {
      const outcome = await verifyWith(h, service, victim, wrongCode(h, victim), attacker);
      failures.push([outcome.code, outcome.details]);
    }
    expect(failures.every((f) => Array.isArray(f) && f[0] === "totp.wrong_code")).toBe(true);
    const fresh = victims[21] as EnrolledTotp;
    expect((await verifyWith(h, service, fresh, rightCode(h, fresh), attacker)).code).toBe(
      "authenticator.throttled",
    );
    // Another address is not held back, and the principals' own counts stay per tenant.
    expect((await verifyWith(h, service, fresh, rightCode(h, fresh), "203.0.113.9")).code).toBe(
      "accepted",
    );
  });

  it("records in each tenant's audit the address's failures counted platform-wide", async () => {
    const attacker = "198.51.100.7";
    for (const victim of victims.slice(0, 3)) {
      await verifyWith(h, service, victim, wrongCode(h, victim), attacker);
    }
    const failed = await Promise.all(
      tenants.slice(0, 3).map(async (tenant) => {
        const page = await h.app.audit.list(h.admin, tenant, {}, { limit: 100 });
        return page.items
          .filter((e) => e.type === "authenticator.verification_failed")
          .map((e) => [e.payload.principalFailures, e.payload.clientFailures]);
      }),
    );
    expect(failed).toEqual([[[1, 1]], [[1, 2]], [[1, 3]]]);
  });
});
