/**
 * Assurance classification rules that a mutation survey found unpinned by any decision.
 */
import { describe, expect, it } from "vitest";
import { decide, mandate, policy, webauthn } from "./test-support/fixtures.js";

describe("WebAuthn without user verification", () => {
  // One factor (AAL1), but still phishing-resistant: the key is bound to the origin whether or
  // not it verified the user (SP 800-63B-4 §3.2.5).
  it("meets a phishing-resistant requirement at AAL1", () => {
    const d = decide({
      policy: policy("mfa_optional"),
      mandates: [mandate("phishing-resistant", { phishingResistant: true })],
      evidence: { events: [webauthn({ uv: false })] },
    });
    expect(d.outcome).toBe("allow");
    expect(d.satisfiedBy).toMatchObject({ aal: 1, phishingResistant: true });
  });
});
