/**
 * How the engine picks the assurance that satisfies a requirement, dates it, and explains a miss,
 * pinned where a mutation survey found it unpinned.
 */
import { describe, expect, it } from "vitest";
import {
  ago,
  codes,
  decide,
  federated,
  password,
  policy,
  totp,
  webauthn,
} from "./test-support/fixtures.js";

describe("the satisfying assurance", () => {
  it("is the one of highest AAL", () => {
    const d = decide({
      evidence: { events: [password(), totp(), webauthn({ attested: true, be: false })] },
    });
    expect(d.outcome).toBe("allow");
    expect(d.satisfiedBy?.aal).toBe(3);
    expect(d.satisfiedBy?.events.map((e) => e.method)).toEqual(["webauthn"]);
  });

  it("at equal AAL, the phishing-resistant one", () => {
    const d = decide({ evidence: { events: [password(), totp(), webauthn({ be: true })] } });
    expect(d.satisfiedBy?.aal).toBe(2);
    expect(d.satisfiedBy?.phishingResistant).toBe(true);
    expect(d.satisfiedBy?.events.map((e) => e.method)).toEqual(["webauthn"]);
  });

  it("at equal AAL and phishing resistance, the most recent", () => {
    const d = decide({ evidence: { events: [password(), totp(600), totp(30)] } });
    expect(d.satisfiedBy?.provenAt).toBe(ago(30));
  });
});

describe("idle timeout", () => {
  // Proving MFA is activity: a session idle since long before a fresh MFA event is not idle.
  it("runs from the MFA event when it is later than the last activity", () => {
    const d = decide({
      evidence: { events: [password(600), totp(600)] },
      lastActivityAt: ago(2 * 3600),
    });
    expect(d.outcome).toBe("allow");
  });
});

describe("explaining a stale miss", () => {
  // Several assurances may each be too old for a different limit; the first in evidence order
  // (single events, then pairs) is the one explained.
  it("names the staleness of the first stale assurance", () => {
    const d = decide({
      policy: policy("platform_mfa", { require: { maxAgeSeconds: 300 } }),
      evidence: { events: [webauthn({ secondsAgo: 400 }), password(25 * 3600), totp(10)] },
    });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toEqual(["freshness.max_age_exceeded"]);
  });
});

describe("a platform second factor after a single-factor IdP sign-in", () => {
  // The pair's proof is the platform's (its second factor), so platform_mfa accepts it.
  it("is proof from the platform", () => {
    const d = decide({
      principal: { id: "alice", population: "sso" },
      evidence: { events: [federated({ aal: 1 }), totp()] },
    });
    expect(d.outcome).toBe("allow");
    expect(d.satisfiedBy?.events.map((e) => e.method)).toEqual(["federated", "totp"]);
  });
});
