import type { PlatformMandate } from "./policy.js";
import { parseTime } from "./time.js";
import type { Population } from "./vocabulary.js";

/**
 * The mandates that no exemption excuses and that bind sign-ins of `population` at `tenant`,
 * now or later in their window (`now` in epoch milliseconds). A principal of that population
 * moved out of policy (to `guest`, which no rule reaches) would escape them: a way around
 * "not exemptible" that only the platform may take.
 */
export function unexemptibleMandatesFor(
  mandates: readonly PlatformMandate[],
  tenant: string,
  population: Population,
  now: number,
): PlatformMandate[] {
  return mandates.filter(
    (m) =>
      !m.exemptible &&
      (m.scope.tenants === "all" || m.scope.tenants.includes(tenant)) &&
      (m.scope.populations === undefined || m.scope.populations.includes(population)) &&
      now < (parseTime(m.activeUntil) ?? Infinity),
  );
}
