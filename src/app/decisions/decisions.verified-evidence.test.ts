// Threat: a platform backend, or whoever holds its key, telling the decision API that a principal
// passed a TOTP, WebAuthn or recovery-code check that tenant-mfa never saw, or dressing up one it
// did see (another principal's, another tenant's, a later time to look fresh, stronger WebAuthn
// flags). DESIGN invariant 3: evidence is verified, never assumed. An event that names its
// verification is checked against tenant-mfa's audit record of it; with
// `decisions.requireVerifiedEvidence`, an MFA event that names none is refused too.
import { afterEach, describe, expect, it } from "vitest";
import type { AuthenticationEvent } from "../../core/evidence.js";
import type { Caller } from "../application.js";
import { DEFAULT_SETTINGS } from "../context.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

interface TotpWorld {
  readonly h: Harness;
  readonly service: Caller;
  readonly alice: EnrolledTotp;
  readonly bob: EnrolledTotp;
  /** A verified TOTP event of `who` (alice by default). */
  verified(who?: EnrolledTotp): Promise<AuthenticationEvent>;
  /** Decides alice's sign-in (at tenant `acme`) with a password and `mfa`. */
  decide(
    mfa: AuthenticationEvent,
    options?: { tenant?: string; principal?: string },
  ): Promise<unknown>;
}

async function openTotpWorld(requireVerifiedEvidence = false): Promise<TotpWorld> {
  const h = await openHarness({
    settings: { ...DEFAULT_SETTINGS, decisions: { requireVerifiedEvidence } },
  });
  for (const tenant of ["acme", "globex"]) {
    await h.app.tenants.create(h.admin, { id: tenant, name: tenant });
  }
  const service = await h.caller(["platform_service"], ["acme", "globex"]);
  const alice = await enrolTotp(h, service, "acme", "alice");
  const bob = await enrolTotp(h, service, "acme", "bob");
  h.clock.advance(30);
  return {
    h,
    service,
    alice,
    bob,
    async verified(who = alice) {
      const { event } = await h.app.authenticators.verifyTotp(
        service,
        who.tenant,
        who.principal,
        who.id,
        {
          code: rightCode(h, who),
        },
      );
      return event;
    },
    decide: (mfa, { tenant = "acme", principal = "alice" } = {}) =>
      h.app.decisions.decide(service, tenant, {
        principal: { id: principal },
        evidence: {
          events: [
            { method: "password", source: "platform", at: h.clock.now().toISOString() },
            mfa,
          ],
        },
      }),
  };
}

describe("platform MFA evidence, checked against tenant-mfa's record of its verification", () => {
  let world: TotpWorld | undefined;
  let webauthn: WebAuthnWorld | undefined;
  afterEach(async () => {
    await world?.h.close();
    await webauthn?.close();
    world = undefined;
    webauthn = undefined;
  });

  it("allows the event a TOTP verification returned, and the receipt names the verification", async () => {
    world = await openTotpWorld();
    const event = await world.verified();
    expect(event).toMatchObject({ method: "totp", verification: expect.stringMatching(/^evt_/) });
    const decision = (await world.decide(event)) as { outcome: string; id: string };
    expect(decision.outcome).toBe("allow");
    const receipt = await world.h.app.decisions.receipt(world.h.admin, decision.id);
    const events = (receipt.inputSummary as { events: { verification?: string }[] }).events;
    expect(events.map((e) => e.verification)).toEqual([
      undefined,
      (event as { verification: string }).verification,
    ]);
  });

  it.each<[string, (w: TotpWorld, event: AuthenticationEvent) => Promise<AuthenticationEvent>]>([
    [
      "an id that names no event",
      (_, event) => Promise.resolve({ ...event, verification: "evt_nothing" }),
    ],
    ["another principal's verification", (w) => w.verified(w.bob)],
    [
      "a later time, to look fresh",
      (w, event) => {
        w.h.clock.advance(3600);
        return Promise.resolve({ ...event, at: w.h.clock.now().toISOString() });
      },
    ],
    [
      "an earlier time",
      (_, event) =>
        Promise.resolve({ ...event, at: new Date(Date.parse(event.at) - 1000).toISOString() }),
    ],
    [
      "a TOTP verification presented as a recovery code",
      (_, event) => Promise.resolve({ ...event, method: "recovery_code" } as AuthenticationEvent),
    ],
    [
      "an audit event that records no verification",
      async (w, event) => {
        const page = await w.h.app.audit.list(
          w.h.admin,
          "acme",
          { type: "principal.registered" },
          { limit: 1 },
        );
        const other = page.items[0];
        if (other === undefined) throw new Error("no principal.registered event");
        return { ...event, verification: other.id };
      },
    ],
  ])("refuses %s (evidence.unverified)", async (_, dress) => {
    world = await openTotpWorld();
    const event = await dress(world, await world.verified());
    expect(await outcomeOf(world.decide(event))).toMatchObject({ code: "evidence.unverified" });
  });

  it("refuses a verification of another tenant, though the caller reaches both", async () => {
    world = await openTotpWorld();
    const carol = await enrolTotp(world.h, world.service, "globex", "alice");
    world.h.clock.advance(30);
    const foreign = await world.verified(carol);
    expect(await outcomeOf(world.decide(foreign, { tenant: "acme" }))).toMatchObject({
      code: "evidence.unverified",
    });
    // In its own tenant the same event counts.
    expect(await world.decide(foreign, { tenant: "globex" })).toMatchObject({ outcome: "allow" });
  });

  it("accepts an MFA event that names no verification by default, and says so on the receipt", async () => {
    world = await openTotpWorld();
    const asserted: AuthenticationEvent = {
      method: "totp",
      source: "platform",
      at: world.h.clock.now().toISOString(),
    };
    const decision = (await world.decide(asserted)) as { outcome: string; id: string };
    expect(decision.outcome).toBe("allow");
    const receipt = await world.h.app.decisions.receipt(world.h.admin, decision.id);
    const events = (receipt.inputSummary as { events: Record<string, unknown>[] }).events;
    expect(events[1]).not.toHaveProperty("verification");
  });

  it("with requireVerifiedEvidence, refuses an MFA event that names no verification, and allows one that does", async () => {
    world = await openTotpWorld(true);
    const asserted: AuthenticationEvent = {
      method: "totp",
      source: "platform",
      at: world.h.clock.now().toISOString(),
    };
    expect(await outcomeOf(world.decide(asserted))).toMatchObject({ code: "evidence.unverified" });
    expect(
      await outcomeOf(
        world.decide({ method: "recovery_code", source: "platform", at: asserted.at }),
      ),
    ).toMatchObject({ code: "evidence.unverified" });
    expect(await world.decide(await world.verified())).toMatchObject({ outcome: "allow" });
    // A password is the platform's own to check: a password alone is decided, not refused.
    expect(
      await world.h.app.decisions.decide(world.service, "acme", {
        principal: { id: "alice" },
        evidence: { events: [{ method: "password", source: "platform", at: asserted.at }] },
      }),
    ).toMatchObject({ outcome: "challenge" });
  });

  it("refuses a WebAuthn event whose flags or credential differ from what its verification recorded", async () => {
    webauthn = await openWebAuthnWorld();
    const key = webauthn.authenticator();
    await webauthn.register(key);
    const { event } = await webauthn.authenticate(key);
    expect(event).toMatchObject({ userVerified: true, backupEligible: false });
    const decide = (mfa: AuthenticationEvent) =>
      webauthn!.h.app.decisions.decide(webauthn!.service.acme, "acme", {
        principal: { id: "alice" },
        evidence: {
          events: [{ method: "password", source: "platform", at: event.at }, mfa],
        },
      });
    for (const dressed of [
      { ...event, backupEligible: true },
      { ...event, userVerified: false },
      { ...event, credentialId: "c29tZW9uZS1lbHNl" },
      // Hardware its registration never proved: AAL3 if believed.
      { ...event, attested: true },
    ]) {
      expect(await outcomeOf(decide(dressed))).toMatchObject({ code: "evidence.unverified" });
    }
    expect(await decide(event)).toMatchObject({ outcome: "allow" });
  });

  it("allows the event a recovery code returned, and refuses it for another principal", async () => {
    world = await openTotpWorld();
    await provedMfaJustNow(world.h, "acme", "alice");
    const { codes } = await world.h.app.recoveryCodes.generate(world.service, "acme", "alice");
    const { event } = await world.h.app.recoveryCodes.verify(world.service, "acme", "alice", {
      code: codes[0] ?? "",
    });
    expect(event.verification).toMatch(/^evt_/);
    expect(await outcomeOf(world.decide(event, { principal: "bob" }))).toMatchObject({
      code: "evidence.unverified",
    });
    expect(await world.decide(event)).toMatchObject({ outcome: "allow" });
  });

  // Threat: a lost or stolen phone. The platform kept the TOTP event of a sign-in in its session;
  // the administrator removes the device, but the session's next decision (a step-up, say) cites
  // the old verification: it must not count, as the hosted flow's unexchanged code does not.
  describe("after the principal's proofs are withdrawn", () => {
    /** Alice with a second TOTP authenticator, so that either can be removed. */
    async function withSpare(w: TotpWorld) {
      const spare = await enrolTotp(w.h, w.service, "acme", "alice");
      w.h.clock.advance(60);
      return spare;
    }

    it("refuses a verification made before an authenticator was removed, with the instant, and allows one made after", async () => {
      world = await openTotpWorld();
      const spare = await withSpare(world);
      const before = await world.verified();
      expect(await world.decide(before)).toMatchObject({ outcome: "allow" });
      world.h.clock.advance(5);
      // The spare, not the one that verified: the principal's proofs go together, as in a flow.
      await world.h.app.authenticators.remove(world.h.admin, "acme", "alice", spare.id);
      const removedAt = world.h.clock.now().toISOString();
      world.h.clock.advance(5);
      const refused = await outcomeOf(world.decide(before));
      expect(refused.code).toBe("evidence.withdrawn");
      await expect(world.decide(before)).rejects.toThrow(removedAt);
      world.h.clock.advance(30);
      expect(await world.decide(await world.verified())).toMatchObject({ outcome: "allow" });
      // The caller's word (no verification named) is not the record's to withdraw.
      const asserted = { method: "totp", source: "platform", at: before.at } as AuthenticationEvent;
      expect(await world.decide(asserted)).toMatchObject({ outcome: "allow" });
    });

    it("refuses a verification made at the very instant of the removal", async () => {
      world = await openTotpWorld();
      const spare = await withSpare(world);
      const at = await world.verified();
      await world.h.app.authenticators.remove(world.h.admin, "acme", "alice", spare.id);
      expect(world.h.clock.now().toISOString()).toBe(at.at);
      expect(await outcomeOf(world.decide(at))).toMatchObject({ code: "evidence.withdrawn" });
    });

    it("refuses a verification once the recovery codes are revoked or replaced, and another principal's stay", async () => {
      world = await openTotpWorld();
      const generate = async () => {
        await provedMfaJustNow(world!.h, "acme", "alice");
        await world!.h.app.recoveryCodes.generate(world!.service, "acme", "alice");
      };
      // A first set replaces nothing, so it withdraws nothing.
      await generate();
      const alices = await world.verified();
      const bobs = await world.verified(world.bob);
      expect(await world.decide(alices)).toMatchObject({ outcome: "allow" });
      world.h.clock.advance(1);
      await generate();
      expect(await outcomeOf(world.decide(alices))).toMatchObject({ code: "evidence.withdrawn" });
      expect(await world.decide(bobs, { principal: "bob" })).toMatchObject({ outcome: "allow" });
      world.h.clock.advance(30);
      const again = await world.verified();
      world.h.clock.advance(1);
      await world.h.app.recoveryCodes.revoke(world.h.admin, "acme", "alice");
      expect(await outcomeOf(world.decide(again))).toMatchObject({ code: "evidence.withdrawn" });
    });

    it("keeps the withdrawal through an update of the principal, which shows when it was", async () => {
      world = await openTotpWorld();
      const spare = await withSpare(world);
      const before = await world.verified();
      world.h.clock.advance(1);
      await world.h.app.authenticators.remove(world.h.admin, "acme", "alice", spare.id);
      const removedAt = world.h.clock.now().toISOString();
      world.h.clock.advance(1);
      const updated = await world.h.app.principals.upsert(world.h.admin, "acme", "alice", {
        population: "direct",
        displayName: "Alice",
      });
      expect(updated).toMatchObject({ proofsWithdrawnAt: removedAt });
      expect(await world.h.app.principals.get(world.h.admin, "acme", "alice")).toMatchObject({
        proofsWithdrawnAt: removedAt,
      });
      expect(await outcomeOf(world.decide(before))).toMatchObject({ code: "evidence.withdrawn" });
    });

    it("refuses a WebAuthn verification made before another credential of the principal was removed", async () => {
      webauthn = await openWebAuthnWorld();
      const kept = webauthn.authenticator();
      const lost = webauthn.authenticator();
      await webauthn.register(kept);
      const registered = await webauthn.register(lost);
      const { event } = await webauthn.authenticate(kept);
      const decide = () =>
        webauthn!.h.app.decisions.decide(webauthn!.service.acme, "acme", {
          principal: { id: "alice" },
          evidence: { events: [{ method: "password", source: "platform", at: event.at }, event] },
        });
      expect(await decide()).toMatchObject({ outcome: "allow" });
      webauthn.h.clock.advance(1);
      await webauthn.h.app.authenticators.remove(webauthn.h.admin, "acme", "alice", registered.id);
      expect(await outcomeOf(decide())).toMatchObject({ code: "evidence.withdrawn" });
    });
  });
});
