import type { PlatformMandate } from "./policy.js";
import { interactivePopulation } from "./prepared-rules.js";
import { parseTime } from "./time.js";
import type { Population } from "./vocabulary.js";

/**
 * The mandates that bind sign-ins of `population` at `tenant`, now or later in their window
 * (`now` in epoch milliseconds), exemptible or not. No rule reaches a `guest`. As the engine
 * binds them: an integration signing in with a password is held to MFA as a person (seed 000),
 * so the mandates scoped to the population it is then treated as bind it too.
 */
export function mandatesBinding(
  mandates: readonly PlatformMandate[],
  tenant: string,
  population: Population,
  now: number,
): PlatformMandate[] {
  if (population === "guest") return [];
  const treatedAs = interactivePopulation(population);
  return mandates.filter(
    (m) =>
      (m.scope.tenants === "all" || m.scope.tenants.includes(tenant)) &&
      (m.scope.populations === undefined ||
        m.scope.populations.includes(population) ||
        m.scope.populations.includes(treatedAs)) &&
      now < (parseTime(m.activeUntil) ?? Infinity),
  );
}

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
  return mandatesBinding(mandates, tenant, population, now).filter((m) => !m.exemptible);
}

/**
 * Populations that some sign-ins leave out of every rule: a guest always, an integration that
 * signs in with a token-based grant (seed 000). No mandate can be relied on to reach them.
 */
const OUT_OF_POLICY: ReadonlySet<Population> = new Set<Population>(["guest", "integration"]);

/** The populations of people, whom a mandate's scope reaches on every sign-in. */
const PEOPLE: readonly Population[] = ["direct", "sso", "api_human"];

/**
 * The first mandate binding a principal of `tenant` in population `from` and not reliably
 * binding it in population `to`: moving the principal would escape it, for good and with no
 * approver. A mandate that cannot be exempted forbids the tenant that outright; one that can is
 * excused only by an exemption, bounded and approved by another party, never by a move. A
 * principal without a population yet (`from` undefined: never registered, so decided as the
 * platform says) may have been decided as any person: registering it where a mandate that
 * cannot be exempted does not reach escapes that mandate; registering new principals under
 * mandates that can be exempted stays the tenant's.
 */
export function mandateEscapedByMove(
  mandates: readonly PlatformMandate[],
  tenant: string,
  from: Population | undefined,
  to: Population,
  now: number,
): PlatformMandate | undefined {
  const after = new Set(OUT_OF_POLICY.has(to) ? [] : mandatesBinding(mandates, tenant, to, now));
  const before =
    from !== undefined
      ? mandatesBinding(mandates, tenant, from, now)
      : PEOPLE.flatMap((p) => unexemptibleMandatesFor(mandates, tenant, p, now));
  return before.find((m) => !after.has(m));
}
