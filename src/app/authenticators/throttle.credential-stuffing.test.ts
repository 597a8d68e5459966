// Threat: credential stuffing and password spraying. One client address tries a few guesses
// against each of many principals, staying under every principal's own limit. The client
// address has its own count across principals: past 20 failures from one address, every
// principal tried from it waits, while the same principals from another address do not.
// IPv6 addresses count by their /64, which one subscriber holds whole.
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
import { clientKey } from "./verification-throttle.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

describe("credential stuffing from one client address", () => {
  let h: Harness;
  let service: Caller;
  let victims: EnrolledTotp[];

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    service = await h.caller(["platform_service"], ["acme"]);
    victims = [];
    for (let n = 0; n < 23; n += 1) victims.push(await enrolTotp(h, service, "acme", `user-${n}`));
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  it("throttles the address across principals after 20 failures, and only that address", async () => {
    const attacker = "198.51.100.7";
    // One guess per principal: no principal comes near its own limit.
    for (const victim of victims.slice(0, 21)) {
      expect((await verifyWith(h, service, victim, wrongCode(h, victim), attacker)).code).toBe(
        "totp.wrong_code",
      );
    }
    const fresh = victims[21] as EnrolledTotp;
    expect(await verifyWith(h, service, fresh, rightCode(h, fresh), attacker)).toEqual({
      code: "authenticator.throttled",
      details: { retryAfter: 1 },
    });
    // The principal itself is not throttled: from elsewhere, or without an address, it verifies.
    expect((await verifyWith(h, service, fresh, rightCode(h, fresh), "203.0.113.9")).code).toBe(
      "accepted",
    );
    h.clock.advance(30);
    expect((await verifyWith(h, service, fresh, rightCode(h, fresh))).code).toBe("accepted");
    h.clock.advance(1);
    const last = victims[22] as EnrolledTotp;
    expect((await verifyWith(h, service, last, wrongCode(h, last), attacker)).code).toBe(
      "totp.wrong_code",
    );
    expect(
      (await verifyWith(h, service, last, rightCode(h, last), attacker)).details?.retryAfter,
    ).toBe(2);
  });

  it("counts an IPv6 client by its /64, and an IPv4-mapped address as the IPv4 one", async () => {
    for (const [n, victim] of victims.slice(0, 21).entries()) {
      // A different address each time, all in one /64.
      const address = `2001:db8:abcd:12::${(n + 1).toString(16)}`;
      await verifyWith(h, service, victim, wrongCode(h, victim), address);
    }
    const fresh = victims[21] as EnrolledTotp;
    expect(
      (await verifyWith(h, service, fresh, rightCode(h, fresh), "2001:DB8:ABCD:12:ffff::1")).code,
    ).toBe("authenticator.throttled");
    expect(
      (await verifyWith(h, service, fresh, rightCode(h, fresh), "2001:db8:abcd:13::1")).code,
    ).toBe("accepted");
    expect(clientKey("::ffff:192.0.2.1")).toBe(clientKey("192.0.2.1"));
    expect(clientKey("2001:db8::1")).toBe("client:2001:db8:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe("client:fe80:0:0:0::/64");
  });

  it("refuses a client address that is not an IP address", async () => {
    const victim = victims[0] as EnrolledTotp;
    for (const bad of ["", "localhost", "192.0.2.256", "01.2.3.4", "::g", "1.2.3.4/24"]) {
      expect((await verifyWith(h, service, victim, rightCode(h, victim), bad)).code).toBe(
        "request.invalid",
      );
    }
  });
});
