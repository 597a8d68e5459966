import type { Exemption } from "./policy.js";
import { parseTime } from "./time.js";
import { isExemptionCategory } from "./vocabulary.js";

/** Why an exemption does or does not apply to a sign-in. */
export type ExemptionStanding = "usable" | "shared_login" | "not_applicable";

/**
 * Re-checks an exemption for this tenant, principal and instant. It applies only when approved
 * by someone other than its requester, active (`startsAt ≤ now < expiresAt`, expiry mandatory),
 * and for the named principal of this tenant. A `shared_login` exemption that would otherwise
 * apply is reported as such so the refusal is visible (seed 001: shared logins are never exempt).
 */
export function exemptionStanding(
  exemption: Exemption,
  tenant: string,
  principal: string,
  now: number,
): ExemptionStanding {
  if (typeof exemption !== "object" || exemption === null) return "not_applicable";
  if (exemption.tenant !== tenant || exemption.principal !== principal) return "not_applicable";
  if (exemption.status !== "approved") return "not_applicable";
  if (typeof exemption.approvedBy !== "string" || exemption.approvedBy.length === 0) {
    return "not_applicable";
  }
  if (typeof exemption.requestedBy !== "string" || exemption.requestedBy.length === 0) {
    return "not_applicable";
  }
  if (exemption.approvedBy === exemption.requestedBy) return "not_applicable";
  if (!isExemptionCategory(exemption.category)) return "not_applicable";
  const startsAt = parseTime(exemption.startsAt);
  const expiresAt = parseTime(exemption.expiresAt);
  if (startsAt === undefined || expiresAt === undefined) return "not_applicable";
  if (now < startsAt || now >= expiresAt) return "not_applicable";
  if (exemption.category === "shared_login") return "shared_login";
  return typeof exemption.id === "string" ? "usable" : "not_applicable";
}

/**
 * The exemption to use among several: the usable one that lasts longest (ties: lowest id), so
 * the choice does not depend on the order the caller listed them in. For a principal that is a
 * shared login (`sharedLogin`), none: each one that would apply is refused as a `shared_login`
 * exemption is, whatever its category (seed 001).
 */
export function pickExemption(
  exemptions: readonly Exemption[],
  tenant: string,
  principal: string,
  now: number,
  sharedLogin = false,
): { usable?: Exemption; sharedLoginRefused: boolean } {
  let usable: Exemption | undefined;
  let sharedLoginRefused = false;
  for (let index = 0; index < exemptions.length; index++) {
    const exemption = exemptions[index] as Exemption;
    const standing = exemptionStanding(exemption, tenant, principal, now);
    if (standing === "shared_login" || (sharedLogin && standing === "usable")) {
      sharedLoginRefused = true;
      continue;
    }
    if (standing !== "usable") continue;
    // A sign-in mostly carries one exemption: expiries are read again only to compare two.
    if (usable === undefined) {
      usable = exemption;
      continue;
    }
    const until = parseTime(exemption.expiresAt) ?? 0;
    const usableUntil = parseTime(usable.expiresAt) ?? 0;
    if (until > usableUntil || (until === usableUntil && exemption.id < usable.id)) {
      usable = exemption;
    }
  }
  return usable === undefined ? { sharedLoginRefused } : { usable, sharedLoginRefused };
}
