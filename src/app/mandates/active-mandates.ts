import type { PlatformMandate } from "../../core/policy.js";
import { parseTime } from "../../core/time.js";
import type { MandateVersionRecord } from "../records.js";

/** The mandates of the current versions that are not retired. */
export function mandatesInForce(records: readonly MandateVersionRecord[]): PlatformMandate[] {
  return records.filter((r) => r.status === "active").map((r) => r.mandate);
}

/**
 * The mandates that bind `tenant` at `now`, whatever the population: current versions that are
 * not retired, scoped to the tenant, inside their active window.
 */
export function mandatesBinding(
  records: readonly MandateVersionRecord[],
  tenant: string,
  now: number,
): PlatformMandate[] {
  return mandatesInForce(records).filter((m) => {
    const { tenants } = m.scope;
    if (tenants !== "all" && !tenants.includes(tenant)) return false;
    if (m.activeFrom !== undefined && now < (parseTime(m.activeFrom) ?? Infinity)) return false;
    return !(m.activeUntil !== undefined && now >= (parseTime(m.activeUntil) ?? -Infinity));
  });
}
