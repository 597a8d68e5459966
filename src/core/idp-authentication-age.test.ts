// Threat: an IdP authentication older than the tenant accepts from its IdP counting as fresh at
// a decision made after its answer was verified (a held SAML answer, a hosted flow's evidence).
import { describe, expect, it } from "vitest";
import type { FederatedEvent } from "./evidence.js";
import { agedWhileHeld } from "./idp-authentication-age.js";
import { REFEDS_MFA } from "./vocabulary.js";

const limits = { maxAuthenticationAgeSeconds: 3600, clockSkewSeconds: 120 };
const at = new Date("2026-11-23T12:00:00.000Z");
const event: FederatedEvent = {
  method: "federated",
  source: "idp",
  tenant: "acme",
  idp: "corp",
  at: at.toISOString(),
  assurance: { aal: 2, phishingResistant: false },
  claims: { authnContextClassRefs: [REFEDS_MFA] },
};
const after = (seconds: number) => new Date(at.getTime() + seconds * 1000);

describe("a federated event judged by its IdP's maximum authentication age at a decision", () => {
  it("keeps its assurance up to the limit plus the skew", () => {
    expect(agedWhileHeld(limits, event, after(3600 + 120))).toBe(event);
  });

  it("proves nothing once older, keeping the IdP's values and saying why", () => {
    expect(agedWhileHeld(limits, event, after(3600 + 121))).toEqual({
      ...event,
      assurance: { aal: 0, phishingResistant: false },
      claims: { authnContextClassRefs: [REFEDS_MFA], authenticationTooOld: true },
    });
  });

  it("leaves an event already judged too old as it is", () => {
    const old = agedWhileHeld(limits, event, after(7200));
    expect(agedWhileHeld(limits, old, after(9000))).toBe(old);
  });
});
