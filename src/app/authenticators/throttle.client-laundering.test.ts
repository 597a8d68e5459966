// Threat: laundering an address. An attacker spraying guesses from one address holds one
// account of their own there; if a success reset the address's count, one good verification
// every 20 guesses would let the spraying go on unthrottled. A success resets the principal's
// count only; the address keeps counting until it falls quiet.
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
import { VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

describe("a success from an address", () => {
  let h: Harness;
  let service: Caller;
  let mallory: EnrolledTotp;
  let victims: EnrolledTotp[];
  const address = "198.51.100.7";
  const clientState = () =>
    h.store.transaction((r) => r.verificationThrottles.get("acme", `client:${address}`));

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    mallory = await enrolTotp(h, service, "acme", "mallory");
    victims = [];
    for (let n = 0; n < 21; n += 1) victims.push(await enrolTotp(h, service, "acme", `user-${n}`));
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  it("does not reset the address's count, though it resets the principal's", async () => {
    for (const victim of victims.slice(0, 19)) {
      await verifyWith(h, service, victim, wrongCode(h, victim), address);
    }
    await verifyWith(h, service, mallory, wrongCode(h, mallory), address);
    expect((await verifyWith(h, service, mallory, rightCode(h, mallory), address)).code).toBe(
      "accepted",
    );
    expect(await clientState()).toMatchObject({ consecutiveFailures: 20 });
    const principal = await h.store.transaction((r) =>
      r.verificationThrottles.get("acme", "principal:mallory"),
    );
    expect(principal).toMatchObject({ consecutiveFailures: 0 });
    const victim = victims[19] as EnrolledTotp;
    await verifyWith(h, service, victim, wrongCode(h, victim), address);
    const next = victims[20] as EnrolledTotp;
    expect((await verifyWith(h, service, next, rightCode(h, next), address)).code).toBe(
      "authenticator.throttled",
    );
    // Mallory's own account is throttled from that address as well.
    h.clock.advance(30);
    expect((await verifyWith(h, service, mallory, rightCode(h, mallory), address)).code).toBe(
      "accepted",
    );
    expect(await clientState()).toMatchObject({ consecutiveFailures: 21 });
  });

  it("is forgotten only after an hour without failures", async () => {
    for (const victim of victims) {
      await verifyWith(h, service, victim, wrongCode(h, victim), address);
    }
    const quiet = VERIFICATION_THROTTLE_DEFAULTS.client.forgetAfterSeconds;
    const victim = victims[0] as EnrolledTotp;
    h.clock.advance(quiet - 1);
    await verifyWith(h, service, victim, wrongCode(h, victim), address);
    expect(await clientState()).toMatchObject({ consecutiveFailures: 22 });
    h.clock.advance(quiet + 1);
    await verifyWith(h, service, victim, wrongCode(h, victim), address);
    expect(await clientState()).toMatchObject({ consecutiveFailures: 1 });
  });
});
