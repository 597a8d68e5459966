// The report's counting, without a store: the boundaries of "overdue", "expired" and "soon", the
// cut of long lists, and events whose payload is not what a decision writes.
import { describe, expect, it } from "vitest";
import type { TenantPolicy } from "../../core/policy.js";
import type { AuditEvent, ExemptionRecord, PrincipalRecord } from "../records.js";
import {
  LISTED,
  LISTED_EXEMPTIONS,
  coverPrincipals,
  reviewExemptions,
  summarisePolicy,
  tallyDecisions,
} from "./compliance-report.js";

const NOW = new Date("2026-12-06T12:00:00.000Z");
const inDays = (days: number) => new Date(NOW.getTime() + days * 86_400_000).toISOString();

const exemption = (id: string, overrides: Partial<ExemptionRecord> = {}): ExemptionRecord => ({
  id,
  tenant: "acme",
  principal: "alice",
  category: "temporary_access",
  status: "approved",
  startsAt: inDays(-1),
  expiresAt: inDays(30),
  reviewAt: inDays(20),
  requestedBy: "key_1",
  approvedBy: "key_2",
  owner: "it",
  justification: "j",
  createdAt: inDays(-2),
  ...overrides,
});

const principal = (id: string, population: PrincipalRecord["population"]): PrincipalRecord => ({
  tenant: "acme",
  id,
  population,
  createdAt: inDays(-1),
  updatedAt: inDays(-1),
});

const decisionEvent = (payload: Record<string, unknown>): AuditEvent =>
  ({ type: "decision.recorded", payload }) as unknown as AuditEvent;

describe("summarisePolicy", () => {
  it("is report-only strictly before enforcementStartsAt, as the engine is, and enforces from it", () => {
    const policy = (enforcementStartsAt?: string) =>
      ({
        tenant: "acme",
        version: 3,
        posture: "platform_mfa",
        ...(enforcementStartsAt === undefined ? {} : { enforcementStartsAt }),
      }) as TenantPolicy;
    const before = new Date(NOW.getTime() - 1);
    expect(summarisePolicy(policy(NOW.toISOString()), before)).toEqual({
      version: 3,
      posture: "platform_mfa",
      mode: "report_only",
      enforcementStartsAt: NOW.toISOString(),
    });
    expect(summarisePolicy(policy(NOW.toISOString()), NOW).mode).toBe("enforce");
    expect(summarisePolicy(policy(), before)).toEqual({
      version: 3,
      posture: "platform_mfa",
      mode: "enforce",
    });
  });
});

describe("reviewExemptions", () => {
  it("ends an exemption at its expiry, starts it at its start, and makes a review due at its date", () => {
    const review = reviewExemptions(
      [
        exemption("expired-now", { expiresAt: inDays(0) }),
        exemption("starts-now", { startsAt: inDays(0), reviewAt: inDays(0) }),
        exemption("soon-edge", { expiresAt: inDays(14) }),
        exemption("after-edge", { expiresAt: inDays(14.001) }),
        exemption("rejected", { status: "rejected" }),
        exemption("revoked", { status: "revoked" }),
      ],
      NOW,
      14,
    );
    expect(review.items.map((i) => [i.id, i.state, i.reviewOverdue, i.expiringSoon])).toEqual([
      ["soon-edge", "in_force", false, true],
      ["after-edge", "in_force", false, false],
      ["starts-now", "in_force", true, false],
    ]);
  });

  it("lists at most 500 exemptions and says the list was cut, while counting them all", () => {
    const many = Array.from({ length: LISTED_EXEMPTIONS + 1 }, (_, n) =>
      exemption(`x${String(n).padStart(4, "0")}`),
    );
    const review = reviewExemptions(many, NOW, 14);
    expect(review).toMatchObject({ inForce: LISTED_EXEMPTIONS + 1, truncated: true });
    expect(review.items).toHaveLength(LISTED_EXEMPTIONS);
  });
});

describe("coverPrincipals", () => {
  it("lists the first 100 uncovered people in id order and counts the rest", () => {
    const coverage = coverPrincipals();
    for (let n = LISTED + 1; n >= 0; n--) {
      coverage.add(
        principal(`p${String(n).padStart(4, "0")}`, n % 2 === 0 ? "direct" : "api_human"),
      );
    }
    const { directWithoutPlatformMfa } = coverage.result({
      totp: ["p0000"],
      webauthn: [],
      recoveryCodes: [],
    });
    expect(directWithoutPlatformMfa.count).toBe(LISTED + 1);
    expect(directWithoutPlatformMfa.truncated).toBe(true);
    expect(directWithoutPlatformMfa.principals[0]).toBe("p0001");
    expect(directWithoutPlatformMfa.principals).toHaveLength(LISTED);
  });
});

describe("tallyDecisions", () => {
  it("counts what a decision event says and skips what no decision writes", () => {
    const tally = tallyDecisions();
    tally.addDecision(
      decisionEvent({ outcome: "allow", mode: "enforce", reasons: ["requirement.met"] }),
    );
    tally.addDecision(decisionEvent({ outcome: "toString", reasons: "requirement.met" }));
    tally.addDecision(
      decisionEvent({
        outcome: "challenge",
        mode: "report_only",
        reportOnlyOutcome: "deny",
        principal: "svc",
        reasons: ["population.integration_interactive", 7, "population.integration_interactive"],
      }),
    );
    expect(tally.result()).toEqual({
      total: 3,
      byOutcome: { allow: 1, challenge: 1, deny: 0, not_applicable: 0 },
      reportOnly: 1,
      reportOnlyWouldBe: { allow: 0, challenge: 0, deny: 1, not_applicable: 0 },
      byReason: { "population.integration_interactive": 2, "requirement.met": 1 },
      exemptionUses: 0,
      breakGlassUses: 0,
      interactiveIntegrations: { count: 1, principals: ["svc"], truncated: false },
    });
  });
});
