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
 * Populations that some sign-ins leave out of every rule: a guest always, an integration that
 * signs in with a token-based grant (seed 000). No mandate can be relied on to reach them.
 */
const OUT_OF_POLICY: ReadonlySet<Population> = new Set<Population>(["guest", "integration"]);

/** The populations of people, whom a mandate's scope reaches on every sign-in. */
const PEOPLE: readonly Population[] = ["direct", "sso", "api_human"];

/**
 * The first mandate that no exemption excuses, binding a principal of `tenant` in population
 * `from` and not reliably binding it in population `to`: moving the principal would escape it,
 * for good and with no approver, which "not exemptible" forbids the tenant. A principal without
 * a population yet (`from` undefined: never registered, so decided as the platform says) may
 * have been decided as any person: registering it where such a mandate does not reach escapes it.
 */
export function mandateEscapedByMove(
  mandates: readonly PlatformMandate[],
  tenant: string,
  from: Population | undefined,
  to: Population,
  now: number,
): PlatformMandate | undefined {
  const after = new Set(
    OUT_OF_POLICY.has(to) ? [] : unexemptibleMandatesFor(mandates, tenant, to, now),
  );
  const before =
    from !== undefined
      ? unexemptibleMandatesFor(mandates, tenant, from, now)
      : PEOPLE.flatMap((p) => unexemptibleMandatesFor(mandates, tenant, p, now));
  return before.find((m) => !after.has(m));
}
