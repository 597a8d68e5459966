import type { PlatformMandate } from "./policy.js";
import { parseTime } from "./time.js";
import type { Population } from "./vocabulary.js";

/**
 * True when the mandate binds this sign-in: the tenant is in scope, one of the populations the
 * principal is held to is in scope, and `now` lies in the active window
 * (`activeFrom ≤ now < activeUntil`).
 */
export function mandateApplies(
  mandate: PlatformMandate,
  tenant: string,
  populations: readonly Population[],
  now: number,
): boolean {
  const { tenants, populations: scoped } = mandate.scope;
  if (tenants !== "all" && !tenants.includes(tenant)) return false;
  if (scoped !== undefined && !populations.some((p) => scoped.includes(p))) return false;
  // Both bounds were checked as ISO 8601 times by checkMandate before any mandate is applied.
  if (mandate.activeFrom !== undefined && now < (parseTime(mandate.activeFrom) ?? Infinity)) {
    return false;
  }
  if (mandate.activeUntil !== undefined && now >= (parseTime(mandate.activeUntil) ?? -Infinity)) {
    return false;
  }
  return true;
}
