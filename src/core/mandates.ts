import type { PlatformMandate } from "./policy.js";
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
  if (mandate.activeFrom !== undefined && now < Date.parse(mandate.activeFrom)) return false;
  if (mandate.activeUntil !== undefined && now >= Date.parse(mandate.activeUntil)) return false;
  return true;
}
