/**
 * What must hold before a principal's authenticator is removed: the last active method stays
 * while policy requires MFA of the principal (issue 5), decided by the real engine.
 *
 * @module
 */
import type { Decision } from "../../core/decision.js";
import { evaluate } from "../../core/evaluate.js";
import type { Repositories } from "../ports.js";

/**
 * How many active methods the principal holds: every method that can prove a second factor.
 * Today that is confirmed TOTP authenticators; WebAuthn credentials and unused recovery codes
 * join this count as those methods arrive, so that every removal rule sees all of them.
 */
export async function countActiveMethods(
  r: Repositories,
  tenant: string,
  principal: string,
): Promise<number> {
  const authenticators = await r.authenticators.list(tenant, principal);
  return authenticators.filter((a) => a.status === "active").length;
}

/**
 * Whether policy requires MFA of the principal now: the engine decides with the inputs the
 * decision use case gathers (tenant policy, active mandates, the principal's population, its
 * active exemptions) and no MFA evidence (a password event only). Anything but `allow` or
 * `not_applicable` means MFA is required. An unknown principal or a tenant without a policy
 * fails closed: MFA is taken as required.
 */
export async function requiresMfa(
  r: Repositories,
  tenant: string,
  principal: string,
  now: Date,
): Promise<{ required: boolean; outcome: Decision["outcome"] | "unknown" }> {
  const [current, mandates, person, exemptions] = await Promise.all([
    r.policies.current(tenant),
    r.mandates.listCurrent(),
    r.principals.get(tenant, principal),
    r.exemptions.list(tenant, { principal, activeAt: now.toISOString() }, { limit: 100 }),
  ]);
  if (current === undefined || person === undefined) return { required: true, outcome: "unknown" };
  const decision = evaluate(
    {
      tenant,
      policy: current.policy,
      mandates: mandates.filter((m) => m.status === "active").map((m) => m.mandate),
      principal: { id: principal, population: person.population },
      evidence: { events: [{ method: "password", source: "platform", at: now.toISOString() }] },
      exemptions: exemptions.items,
    },
    { now },
  );
  return {
    required: decision.outcome !== "allow" && decision.outcome !== "not_applicable",
    outcome: decision.outcome,
  };
}
