import type { Caller, ExemptionRequest } from "../application.js";
import { DEFAULT_SETTINGS, type ExemptionLimits } from "../context.js";
import type { ExemptionRecord } from "../records.js";
import { openHarness, type Harness } from "./harness.js";

const DAY_MS = 86_400_000;

/** The tenant `acme` with principals, a requester and an approver, for the exemption tests. */
export interface ExemptionWorld {
  readonly h: Harness;
  readonly requester: Caller;
  readonly approver: Caller;
  /** The ISO time `days` (fractions allowed) after the harness clock's present. */
  at(days: number): string;
  /** A valid request for alice running from day `from` to day `to` (default 0 to 5). */
  request(from?: number, to?: number, overrides?: Partial<ExemptionRequest>): ExemptionRequest;
  /** Requests and approves an exemption for alice from day `from` to day `to`. */
  grant(from: number, to: number, overrides?: Partial<ExemptionRequest>): Promise<ExemptionRecord>;
}

/**
 * Opens the world over SQLite in memory: exemptions up to 90 days, two renewals in a row and ten
 * active per tenant unless `limits` says otherwise.
 */
export async function openExemptionWorld(
  limits: Partial<ExemptionLimits> = {},
  principals: readonly string[] = ["alice", "bob", "carol", "dave"],
): Promise<ExemptionWorld> {
  const h = await openHarness({
    settings: {
      exemptions: { ...DEFAULT_SETTINGS.exemptions, maxActivePerTenant: 10, ...limits },
    },
  });
  await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
  const requester = await h.caller(["tenant_admin"], ["acme"]);
  const approver = await h.caller(["exemption_approver"], ["acme"]);
  for (const id of principals) {
    await h.app.principals.upsert(requester, "acme", id, { population: "direct" });
  }
  const at = (days: number) => new Date(h.clock.now().getTime() + days * DAY_MS).toISOString();
  const request = (
    from = 0,
    to = 5,
    overrides: Partial<ExemptionRequest> = {},
  ): ExemptionRequest => ({
    principal: "alice",
    category: "temporary_access",
    justification: "Phone lost; replacement on the way",
    owner: "it-helpdesk",
    startsAt: at(from),
    expiresAt: at(to),
    reviewAt: at((from + to) / 2),
    ...overrides,
  });
  return {
    h,
    requester,
    approver,
    at,
    request,
    async grant(from, to, overrides = {}) {
      const requested = await h.app.exemptions.request(
        requester,
        "acme",
        request(from, to, overrides),
      );
      return h.app.exemptions.approve(approver, "acme", requested.id);
    },
  };
}
