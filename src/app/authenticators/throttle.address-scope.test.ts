// Threat: one tenant's backend throttling a client address for every tenant, or reading other
// tenants' failures. The client address of an attempt is whatever the calling platform_service
// key says, and a key may reach one tenant only. Were every report of an address counted on one
// platform-wide row, tenant evil's key could report 21 wrong codes "from" tenant victim's office
// address and so lock victim's users out (429) wherever they verify from it, and victim's audit
// (clientFailures) and 429s (retryAfter) would show failures at other tenants. An address counts
// in the scope of the party that asserts it: platform-wide for a key that reaches every tenant
// (the platform's own backend), in the attempt's tenant for any other.
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
import { CLIENT_ADDRESS_SCOPE, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const { client: CLIENT, principal: PRINCIPAL } = VERIFICATION_THROTTLE_DEFAULTS;

describe("a client address reported by a key of one tenant", () => {
  let h: Harness;
  let evil: Caller;
  let victim: Caller;
  let platform: Caller;
  let puppets: EnrolledTotp[];
  let alice: EnrolledTotp;
  const office = "198.51.100.7";

  /** Evil's key reports `count` wrong codes from the office, spread over evil's principals. */
  const reportFailuresFromTheOffice = async (count: number) => {
    const outcomes: string[] = [];
    for (let k = 0; k < count; k += 1) {
      const puppet = puppets[k % puppets.length] as EnrolledTotp;
      outcomes.push((await verifyWith(h, evil, puppet, wrongCode(h, puppet), office)).code);
    }
    expect(outcomes).toEqual(Array<string>(count).fill("totp.wrong_code"));
  };

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "evil", name: "Evil Inc" });
    await h.app.tenants.create(h.admin, { id: "victim", name: "Victim Ltd" });
    evil = await h.caller(["platform_service"], ["evil"]);
    victim = await h.caller(["platform_service"], ["victim"]);
    platform = await h.caller(["platform_service"], "all");
    // Enough principals that none of them reaches its own backoff before the address does.
    puppets = [];
    const needed = Math.ceil((CLIENT.freeFailures + 1) / PRINCIPAL.freeFailures);
    for (let n = 0; n < needed; n += 1) {
      puppets.push(await enrolTotp(h, evil, "evil", `puppet-${String(n)}`));
    }
    alice = await enrolTotp(h, victim, "victim", "alice");
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  it("does not throttle another tenant's users verifying from that address", async () => {
    // One more than the address's free failures.
    await reportFailuresFromTheOffice(CLIENT.freeFailures + 1);
    // Evil's own reports of the address are held back: its count holds, in its tenant.
    const puppet = puppets[0] as EnrolledTotp;
    expect((await verifyWith(h, evil, puppet, rightCode(h, puppet), office)).code).toBe(
      "authenticator.throttled",
    );
    // Victim's user is not, whether victim's backend or the platform's reports the address.
    expect((await verifyWith(h, victim, alice, rightCode(h, alice), office)).code).toBe("accepted");
    h.clock.advance(30);
    expect((await verifyWith(h, platform, alice, rightCode(h, alice), office)).code).toBe(
      "accepted",
    );
  });

  it("counts the address in the tenant, so another tenant's audit shows none of its failures", async () => {
    // Within the free failures: the leak is in the count recorded, not only in a refusal.
    await reportFailuresFromTheOffice(3);
    const failed = await verifyWith(h, victim, alice, wrongCode(h, alice), office);
    expect(failed.code).toBe("totp.wrong_code");
    const events = await h.app.audit.list(
      h.admin,
      "victim",
      { type: "authenticator.verification_failed" },
      { limit: 10 },
    );
    expect(
      events.items.map((e) => [e.payload.principalFailures, e.payload.clientFailures]),
    ).toEqual([[1, 1]]);
    const rows = await h.store.read(async (r) => [
      (await r.verificationThrottles.get("evil", `client:${office}`))?.consecutiveFailures,
      (await r.verificationThrottles.get("victim", `client:${office}`))?.consecutiveFailures,
      (await r.verificationThrottles.get(CLIENT_ADDRESS_SCOPE, `client:${office}`))
        ?.consecutiveFailures,
    ]);
    expect(rows).toEqual([3, 1, undefined]);
  });
});
