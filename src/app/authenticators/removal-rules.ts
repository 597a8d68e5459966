/**
 * What must hold before a principal's method is removed or another bound: the last active method stays
 * while policy requires MFA of the principal (issue 5), decided by the real engine.
 *
 * @module
 */
import type { Decision } from "../../core/decision.js";
import { evaluate } from "../../core/evaluate.js";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { INSTANCE_CLOCK_DRIFT_SECONDS, type Repositories } from "../ports.js";
import type { Role } from "../records.js";
import { principalKey, type VerificationThrottle } from "./verification-throttle.js";
import { mandatesInForce } from "../mandates/active-mandates.js";

/** The administrative roles that may remove a method without a fresh MFA. */
const ADMIN_ROLES = ["platform_admin", "tenant_admin"] as const satisfies readonly Role[];

/** The role a caller removes a method in: an administrative one if it holds one. */
export const removalRole = (caller: Caller): Role =>
  ADMIN_ROLES.find((admin) => caller.roles.includes(admin)) ?? "platform_service";

/** Whether an active method may go, and what the audit event should say about it. */
export type RemovalCheck =
  | { readonly ok: true; readonly role: Role; readonly freshMfaAt?: string }
  | { readonly ok: false; readonly error: AppError };

/**
 * The rules for removing one of the principal's active methods (any kind), inside the removal's
 * transaction and before it deletes anything:
 *
 * 1. the platform's backend (`platform_service`) acting for the principal needs a fresh MFA: a
 *    successful verification within `throttle.policy.freshMfaSeconds`, else
 *    `authenticator.fresh_mfa_required`; administrators, who act for people who lost a device,
 *    need none;
 * 2. nobody removes the last active authenticator (TOTP or WebAuthn, see {@link activeMethods})
 *    while policy requires MFA of the principal ({@link requiresMfa}):
 *    `authenticator.last_method`. Recovery codes do not keep MFA possible on their own, so they
 *    do not make an authenticator removable; and revoking them (`method: "recovery_codes"`) is
 *    never refused by this rule: a sheet of codes that may have leaked must always be revocable.
 *
 * It first takes the principal's throttle row, so that concurrent removals of one principal
 * (on any instance) queue and cannot each leave the other as the last. The refusal is returned
 * as a value: throw it after the transaction.
 */
export async function checkMethodRemoval(
  r: Repositories,
  throttle: VerificationThrottle,
  input: {
    tenant: string;
    principal: string;
    caller: Caller;
    now: Date;
    /** What goes: one authenticator (the default) or the recovery-code set. */
    method?: "authenticator" | "recovery_codes";
  },
): Promise<RemovalCheck> {
  const { tenant, principal, now } = input;
  const role = removalRole(input.caller);
  await r.verificationThrottles.claim(tenant, principalKey(principal));
  let freshMfaAt: string | undefined;
  if (role === "platform_service") {
    freshMfaAt = await freshMfa(r, throttle, tenant, principal, now);
    if (freshMfaAt === undefined) {
      return { ok: false, error: new AppError("authenticator.fresh_mfa_required") };
    }
  }
  if (input.method !== "recovery_codes") {
    const methods = await activeMethods(r, tenant, principal);
    if (methods.totp + methods.webauthn <= 1) {
      const mfa = await requiresMfa(r, tenant, principal, now);
      if (mfa.required) {
        const details = { outcome: mfa.outcome };
        return { ok: false, error: new AppError("authenticator.last_method", undefined, details) };
      }
    }
  }
  return freshMfaAt === undefined ? { ok: true, role } : { ok: true, role, freshMfaAt };
}

/** When the principal last proved MFA, if within `freshMfaSeconds` of `now`. */
async function freshMfa(
  r: Repositories,
  throttle: VerificationThrottle,
  tenant: string,
  principal: string,
  now: Date,
): Promise<string | undefined> {
  const at = await throttle.lastSuccess(r, tenant, principal);
  const oldest = now.getTime() - throttle.policy.freshMfaSeconds * 1000;
  return at === undefined || Date.parse(at) < oldest ? undefined : at;
}

/**
 * What must hold before another method is bound to a principal (a TOTP authenticator begun, a
 * passkey registered, recovery codes generated), inside that use case's transaction: once the
 * principal holds an active method, the platform's backend acting for it needs a fresh MFA, as
 * for a removal (SP 800-63B-4 §4.1.2: binding a further authenticator needs one already bound).
 * Otherwise whoever holds only the password could bind a method of their own and, by proving it,
 * pass every later fresh-MFA check: remove the principal's own methods, or replace its codes.
 * A principal without any method binds its first on the platform's own first factor. Throws the
 * refusal ({@link methodBindingRefusal}).
 */
export async function checkMethodBinding(
  r: Repositories,
  throttle: VerificationThrottle,
  input: { tenant: string; principal: string; caller: Caller; now: Date },
): Promise<void> {
  const refusal = await methodBindingRefusal(r, throttle, input);
  if (refusal !== undefined) throw refusal;
}

/**
 * The rule of {@link checkMethodBinding}, its refusal returned as a value. With `begunAt`, it is
 * the completion of an enrolment begun then (a TOTP authenticator confirmed, a passkey
 * registration finished), whose start passed the rule against the methods held at that time:
 * only a method bound since (at or after `begunAt`, less the instances' clock drift) calls for a
 * fresh MFA now. Else whoever
 * began one on the password alone, while the principal held none, could complete it after the
 * principal bound its own, and so bind theirs without the fresh MFA that beginning now needs.
 *
 * It first takes the principal's throttle row, as {@link checkMethodRemoval} does, so that
 * bindings and removals of one principal queue (on PostgreSQL, across instances): of two
 * completions begun on the password alone, the second sees the method the first bound. Call it
 * before appending the use case's audit events (throttle rows come before the chain's head).
 */
export async function methodBindingRefusal(
  r: Repositories,
  throttle: VerificationThrottle,
  input: { tenant: string; principal: string; caller: Caller; now: Date; begunAt?: string },
): Promise<AppError | undefined> {
  const { tenant, principal, now, begunAt } = input;
  // The principal's row first, as a removal takes it: bindings of one principal (on any
  // instance, an administrator's too) queue, so that the second reads the method the first bound
  // instead of each reading the other's as not there yet.
  await r.verificationThrottles.claim(tenant, principalKey(principal));
  if (removalRole(input.caller) !== "platform_service") return undefined;
  const held =
    begunAt === undefined
      ? await countActiveMethods(r, tenant, principal)
      : await countMethodsBoundSince(r, tenant, principal, begunAt);
  if (held === 0) return undefined;
  if ((await freshMfa(r, throttle, tenant, principal, now)) !== undefined) return undefined;
  return new AppError(
    "authenticator.fresh_mfa_required",
    begunAt === undefined
      ? "Binding another method on the principal's behalf needs a successful verification of one it holds within the last few minutes: verify first."
      : "The principal bound another method since this enrolment began: completing it on the principal's behalf needs a successful verification of one it holds within the last few minutes: verify first.",
  );
}

/**
 * How many of the principal's active methods ({@link activeMethods}) were bound at or after
 * `since`: TOTP authenticators confirmed, WebAuthn credentials registered, a recovery-code set
 * with an unused code generated.
 */
async function countMethodsBoundSince(
  r: Repositories,
  tenant: string,
  principal: string,
  since: string,
): Promise<number> {
  const [authenticators, credentials, codes] = await Promise.all([
    r.authenticators.list(tenant, principal),
    r.webauthnCredentials.list(tenant, principal),
    r.recoveryCodes.status(tenant, principal),
  ]);
  // The method may have been recorded by an instance whose clock runs behind the one that began
  // the enrolment: an instant up to the instances' drift before `since` counts as since.
  const from = Date.parse(since) - INSTANCE_CLOCK_DRIFT_SECONDS * 1000;
  const boundSince = (at: string) => Date.parse(at) >= from;
  return (
    authenticators.filter((a) => a.status === "active" && boundSince(a.confirmedAt ?? a.createdAt))
      .length +
    credentials.filter((c) => boundSince(c.createdAt)).length +
    (codes !== undefined && codes.remaining > 0 && boundSince(codes.set.createdAt) ? 1 : 0)
  );
}

/** The principal's active methods, by kind. */
export interface ActiveMethods {
  /** Confirmed TOTP authenticators (locked ones too: an administrator's unlock revives them). */
  readonly totp: number;
  /** Registered WebAuthn credentials (locked ones too, likewise). */
  readonly webauthn: number;
  /** Whether the principal holds a set of recovery codes with an unused code. */
  readonly recoveryCodes: boolean;
}

/**
 * The principal's active methods: every method that can prove a second factor with a password.
 * A recovery-code set counts while one of its codes is unused; it is a look-up secret (AAL2 only
 * with a password, a fallback of at most ten uses), so {@link checkMethodRemoval} keeps the last
 * TOTP or WebAuthn authenticator whatever codes remain.
 */
export async function activeMethods(
  r: Repositories,
  tenant: string,
  principal: string,
): Promise<ActiveMethods> {
  const [authenticators, credentials, codes] = await Promise.all([
    r.authenticators.list(tenant, principal),
    r.webauthnCredentials.list(tenant, principal),
    r.recoveryCodes.status(tenant, principal),
  ]);
  return {
    totp: authenticators.filter((a) => a.status === "active").length,
    webauthn: credentials.length,
    recoveryCodes: codes !== undefined && codes.remaining > 0,
  };
}

/**
 * How many active methods the principal holds ({@link activeMethods}): TOTP authenticators,
 * WebAuthn credentials, and one for a recovery-code set with an unused code.
 */
export async function countActiveMethods(
  r: Repositories,
  tenant: string,
  principal: string,
): Promise<number> {
  const methods = await activeMethods(r, tenant, principal);
  return methods.totp + methods.webauthn + (methods.recoveryCodes ? 1 : 0);
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
      mandates: mandatesInForce(mandates),
      principal: {
        id: principal,
        population: person.population,
        ...(person.sharedLogin === true ? { sharedLogin: true } : {}),
      },
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
