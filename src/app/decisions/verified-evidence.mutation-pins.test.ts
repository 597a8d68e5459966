/**
 * How the decision API checks a platform MFA event against tenant-mfa's record of its
 * verification, pinned where a mutation survey of src/app/decisions found it unpinned: malformed
 * references are refused as unverified evidence, and records written before a field was kept
 * still match the events they produced.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuthenticationEvent } from "../../core/evidence.js";
import type { Caller } from "../application.js";
import { recordAudit, transact } from "../context.js";
import { openHarness, type Harness } from "../test-support/harness.js";

let h: Harness;
let service: Caller;

beforeEach(async () => {
  h = await openHarness();
  await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
  await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
  service = await h.caller(["platform_service"], ["acme"]);
});
afterEach(() => h.close());

/** Records a `webauthn.verified` event of alice with `payload`, as the service once wrote it. */
const recordedWebAuthn = (payload: Record<string, unknown>) =>
  transact(h.context, (r) =>
    recordAudit(h.context, r, {
      tenant: "acme",
      type: "webauthn.verified",
      actor: service.id,
      payload: { principal: "alice", kind: "webauthn", ...payload },
    }),
  );

const decide = (mfa: AuthenticationEvent) =>
  h.app.decisions.decide(service, "acme", {
    principal: { id: "alice" },
    evidence: {
      events: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }, mfa],
    },
  });

describe("a named verification", () => {
  // Threat: a reference that is no audit event id (an object, a number) reaching the store's
  // query, where it fails as a store error (503) instead of a refusal of the evidence (4xx).
  it("refuses a verification that is not an id as evidence.unverified", async () => {
    for (const verification of [{ id: "evt_1" }, 42, null]) {
      const event = {
        method: "totp",
        source: "platform",
        at: h.clock.now().toISOString(),
        verification,
      } as unknown as AuthenticationEvent;
      await expect(decide(event)).rejects.toMatchObject({ code: "evidence.unverified" });
    }
  });

  // Threat: every WebAuthn verification recorded before attestation was kept refused, or (the
  // other way round) an event that says "not attested" refused against a record that says
  // nothing: both mean not attested.
  it("matches a record without `attested` to an event that says it is not attested", async () => {
    const recorded = await recordedWebAuthn({
      credentialId: "Y3JlZA",
      userVerified: true,
      backupEligible: false,
    });
    const event: AuthenticationEvent = {
      method: "webauthn",
      source: "platform",
      at: recorded.at,
      verification: recorded.id,
      userVerified: true,
      backupEligible: false,
      attested: false,
      credentialId: "Y3JlZA",
    };
    expect(await decide(event)).toMatchObject({ outcome: "allow" });
    // Still not one that says it is attested.
    await expect(decide({ ...event, attested: true })).rejects.toMatchObject({
      code: "evidence.unverified",
    });
  });

  // The credential is checked when the event names one; an event that leaves it out is judged by
  // the flags its verification recorded, which are what the engine reads.
  it("accepts a WebAuthn event that leaves out its credential id", async () => {
    const recorded = await recordedWebAuthn({
      credentialId: "Y3JlZA",
      userVerified: true,
      backupEligible: false,
      attested: false,
    });
    const event: AuthenticationEvent = {
      method: "webauthn",
      source: "platform",
      at: recorded.at,
      verification: recorded.id,
      userVerified: true,
      backupEligible: false,
    };
    expect(await decide(event)).toMatchObject({ outcome: "allow" });
  });
});
