import type { PlatformMandate } from "./policy.js";
import { parseTime } from "./time.js";
import type { Population } from "./vocabulary.js";

/**
 * The mandates that no exemption excuses and that bind sign-ins of `population` at `tenant`,
 * now or later in their window (`now` in epoch milliseconds). No rule reaches a `guest`.
 */
export function unexemptibleMandatesFor(
  mandates: readonly PlatformMandate[],
  tenant: string,
  population: Population,
  now: number,
): PlatformMandate[] {
  if (population === "guest") return [];
  return mandates.filter(
    (m) =>
      !m.exemptible &&
      (m.scope.tenants === "all" || m.scope.tenants.includes(tenant)) &&
      (m.scope.populations === undefined || m.scope.populations.includes(population)) &&
      now < (parseTime(m.activeUntil) ?? Infinity),
  );
}

/**
 * The first mandate that no exemption excuses, binding a principal of `tenant` in population
 * `from` and no longer binding it in population `to`: moving the principal would escape it,
 * for good and with no approver, which "not exemptible" forbids the tenant.
 */
export function mandateEscapedByMove(
  mandates: readonly PlatformMandate[],
  tenant: string,
  from: Population,
  to: Population,
  now: number,
): PlatformMandate | undefined {
  const after = new Set(unexemptibleMandatesFor(mandates, tenant, to, now));
  return unexemptibleMandatesFor(mandates, tenant, from, now).find((m) => !after.has(m));
}
