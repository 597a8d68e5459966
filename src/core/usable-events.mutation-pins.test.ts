/**
 * Which evidence events the engine counts, pinned where a mutation survey found it unpinned.
 */
import { describe, expect, it } from "vitest";
import type { AuthenticationEvent } from "./evidence.js";
import { codes, decide, federated, policy } from "./test-support/fixtures.js";

describe("a federated event that names no tenant", () => {
  // It cannot be bound to a tenant at all: malformed, not merely another tenant's.
  it("is ignored as invalid", () => {
    const nameless = { ...federated(), tenant: 42 } as unknown as AuthenticationEvent;
    const d = decide({ policy: policy("idp_mfa"), evidence: { events: [nameless] } });
    expect(d.outcome).toBe("challenge");
    expect(codes(d)).toContain("evidence.ignored.invalid");
    expect(codes(d)).not.toContain("evidence.ignored.foreign_tenant");
  });
});
