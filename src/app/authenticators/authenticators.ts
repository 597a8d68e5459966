import type { TotpEvent } from "../../core/evidence.js";
import { authorize } from "../access/permissions.js";
import type { Application, Caller, TotpAuthenticatorView, UnlockResult } from "../application.js";
import { readStore, recordAudit, recordAuditRun, transact, type Context } from "../context.js";
import type { AuditEntry } from "../audit/audit-chain.js";
import { withdrawProofs } from "../flows/withdraw-proofs.js";
import { AppError, type ErrorCode } from "../errors.js";
import type { Repositories, SecretSealer } from "../ports.js";
import type { AuditEvent, AuthenticatorRecord } from "../records.js";
import { openSealed } from "../secrets/open-sealed.js";
import { requireTenant } from "../tenants/tenants.js";
import {
  checkMethodBinding,
  checkMethodRemoval,
  methodBindingRefusal,
  removalRole,
  type RemovalCheck,
} from "./removal-rules.js";
import {
  DEFAULT_TOTP_PARAMETERS,
  type TotpParameters,
  type TotpProtocol,
} from "./totp-protocol.js";
import {
  enrolmentExpiredEntry,
  enrolmentExpiry,
  enrolmentTtlSeconds,
  MAX_PENDING_ENROLMENTS,
  purgeExpiredEnrolmentsIfDue,
} from "./pending-enrolments.js";
import {
  principalKey,
  throttleError,
  verificationAttempt,
  verificationThrottle,
  type VerificationAttempt,
} from "./verification-throttle.js";

/** What the authenticator use cases need beyond the common context. */
export interface AuthenticatorParts {
  readonly secrets: SecretSealer;
  readonly totp: TotpProtocol;
}

/** NIST SP 800-63B §5.2.2 (rev 3) / §3.2.2 (rev 4): at most 100 consecutive failures. */
export const TOTP_FAILURE_LIMIT = 100;
const DEFAULT_NAME = "Authenticator app";
const NAME = /^[^\p{Cc}]{1,64}$/u;

/** The context a TOTP secret is sealed in: it opens for this authenticator only. */
export const totpSecretContext = (tenant: string, principal: string, id: string): string =>
  `authenticator:${tenant}:${principal}:${id}:totp_secret`;

type Attempt =
  | {
      readonly ok: true;
      readonly record: AuthenticatorRecord;
      /** The audit event that recorded the success, once it is recorded. */
      readonly audited?: AuditEvent;
    }
  | { readonly ok: false; readonly code: ErrorCode; readonly failedAttempts?: number }
  | { readonly ok: false; readonly refused: AppError };

const REASON = /^[^\p{Cc}]{1,500}$/u;

/**
 * A principal's authenticators on the platform (TOTP for now). The platform's backend enrols and
 * verifies on the principal's behalf; administrators list, remove and unlock (the unlock lifts
 * every method's lock: TOTP, WebAuthn and recovery codes). Secrets are sealed
 * before they reach the store and shown once; each time step is accepted once; failures are
 * counted and lock the authenticator at {@link TOTP_FAILURE_LIMIT}; every verification also goes
 * through the principal's and client address's throttle (`verification-throttle.ts`). Removal
 * on the principal's behalf needs a fresh MFA, and the last active method stays while policy
 * requires MFA. Every change is audited in its transaction, never with a secret or a code.
 */
export function authenticatorUseCases(
  context: Context,
  parts: AuthenticatorParts | undefined,
): Application["authenticators"] {
  const throttle = verificationThrottle(context);
  const need = (): AuthenticatorParts => {
    if (parts === undefined) throw new AppError("authenticator.not_configured");
    return parts;
  };
  /** When a pending enrolment stops being confirmable: its begin plus the enrolment TTL. */
  const expiryOf = (record: AuthenticatorRecord): Date =>
    enrolmentExpiry(enrolmentTtlSeconds(context), record);
  const expired = (record: AuthenticatorRecord, now: Date): boolean =>
    record.status === "pending" && expiryOf(record).getTime() <= now.getTime();
  const view = (record: AuthenticatorRecord) => toView(record, expiryOf(record));

  /**
   * Removes an expired pending enrolment and audits it, in the caller's transaction; false when
   * it was gone already (removed concurrently).
   */
  async function removeExpired(
    r: Repositories,
    caller: Caller,
    record: AuthenticatorRecord,
  ): Promise<boolean> {
    const { tenant, principal, id } = record;
    if (!(await r.authenticators.remove(tenant, principal, id))) return false;
    await recordAudit(
      context,
      r,
      enrolmentExpiredEntry(record, enrolmentTtlSeconds(context), caller.id),
    );
    return true;
  }

  /** The refusal of a confirmation of `id`, pending and past its time: removed and audited. */
  async function removeIfExpired(
    caller: Caller,
    tenant: string,
    principal: string,
    id: string,
  ): Promise<AppError | undefined> {
    const read = await readStore(context, (r) => r.authenticators.get(tenant, principal, id));
    if (read === undefined || !expired(read, context.clock.now())) return undefined;
    return transact(context, async (r) => {
      // The principal's row first, as every confirmation takes it: none activates it meanwhile.
      await r.verificationThrottles.claim(tenant, principalKey(principal));
      const record = await r.authenticators.get(tenant, principal, id);
      if (record === undefined || !expired(record, context.clock.now())) return undefined;
      await removeExpired(r, caller, record);
      return new AppError("authenticator.enrolment_expired", undefined, {
        expiresAt: expiryOf(record).toISOString(),
      });
    });
  }

  /**
   * Checks `code` against `record` and records the outcome: `accept` on a match (activate or
   * accept the step), the failure count otherwise. Expected failures are returned, not thrown, so
   * that the failure count and its audit commit.
   */
  async function attempt(
    r: Repositories,
    caller: Caller,
    record: AuthenticatorRecord,
    code: string,
    accept: (step: number, at: string) => Promise<AuthenticatorRecord | undefined>,
    throttled: VerificationAttempt,
  ): Promise<Attempt> {
    const { secrets, totp } = need();
    const { tenant, principal, id } = record;
    const now = context.clock.now();
    const at = now.toISOString();
    if (record.lockedAt !== undefined) return { ok: false, code: "totp.locked" };
    // A key dropped from the configuration is an operator's problem, not a store outage or a
    // wrong code: `secret.unavailable`, and nothing is counted.
    const secret = openSealed(
      secrets,
      record.sealedSecret,
      totpSecretContext(tenant, principal, id),
    );
    const result = totp.verify({ secret, code, now, parameters: record.totp });
    let reason: ErrorCode;
    if (result.ok) {
      // RFC 6238 §5.2: a step at or before the last accepted one is a replay, even in the window.
      const accepted = await accept(result.step, at);
      if (accepted !== undefined) return { ok: true, record: accepted };
      reason = "totp.replayed";
    } else {
      reason = result.code;
    }
    const counted = await r.authenticators.recordFailure(
      tenant,
      principal,
      id,
      TOTP_FAILURE_LIMIT,
      at,
    );
    if (counted === undefined) throw new AppError("not_found");
    const throttling = await throttle.recordFailure(r, throttled);
    await recordAudit(context, r, {
      tenant,
      type: "authenticator.verification_failed",
      actor: caller.id,
      payload: {
        ...subject(record),
        reason,
        failedAttempts: counted.failedAttempts,
        principalFailures: throttling.principalFailures,
        ...(throttling.clientFailures === undefined
          ? {}
          : { clientFailures: throttling.clientFailures }),
      },
    });
    if (counted.lockedAt !== undefined && record.lockedAt === undefined) {
      await recordAudit(context, r, {
        tenant,
        type: "authenticator.locked",
        actor: caller.id,
        payload: { ...subject(record), failedAttempts: counted.failedAttempts },
      });
    }
    return { ok: false, code: reason, failedAttempts: counted.failedAttempts };
  }

  const settle = (outcome: Attempt): AuthenticatorRecord => {
    if (outcome.ok) return outcome.record;
    if ("refused" in outcome) throw outcome.refused;
    throw new AppError(
      outcome.code,
      undefined,
      outcome.failedAttempts === undefined ? undefined : { failedAttempts: outcome.failedAttempts },
    );
  };

  const find = async (r: Repositories, tenant: string, principal: string, id: string) => {
    const record = await r.authenticators.get(tenant, principal, id);
    if (record === undefined) throw new AppError("not_found");
    return record;
  };

  /**
   * One code submitted to an authenticator in `status`: checked, accepted through `accept` (the
   * step's compare-and-set), and audited as `audit` when it counts, in one transaction.
   */
  async function useCode(
    caller: Caller,
    tenant: string,
    principal: string,
    id: string,
    input: { code: string; clientAddress?: string | undefined },
    use: {
      status: AuthenticatorRecord["status"];
      wrongStatus: string;
      audit: string;
      accept: (
        r: Repositories,
        step: number,
        at: string,
      ) => Promise<AuthenticatorRecord | undefined>;
      /** A success proves the principal's MFA (not so the confirmation of a new authenticator). */
      provesMfa: boolean;
      /**
       * Checked after the throttle and before the code, holding the principal's row: a refusal
       * looks at no code and counts nothing.
       */
      precondition?: (
        r: Repositories,
        record: AuthenticatorRecord,
      ) => Promise<AppError | undefined>;
    },
  ): Promise<Attempt> {
    const throttled = verificationAttempt(caller, tenant, principal, input.clientAddress);
    await throttle.purgeIfDue();
    return transact(context, async (r): Promise<Attempt> => {
      // Before the code is looked at: a throttled attempt checks nothing, consumes no step and
      // extends no backoff.
      const refusal = await throttle.guard(r, throttled);
      if (refusal !== undefined) return { ok: false, refused: throttleError(refusal) };
      // Read with the principal's row held, which every attempt on the principal holds: an
      // attempt queued behind the failure that locked the authenticator sees the lock (read
      // before, on PostgreSQL, it would check its code against the unlocked copy it had read).
      const record = await find(r, tenant, principal, id);
      if (record.status !== use.status) {
        throw new AppError("authenticator.invalid_state", use.wrongStatus);
      }
      const unmet = await use.precondition?.(r, record);
      if (unmet !== undefined) return { ok: false, refused: unmet };
      const result = await attempt(
        r,
        caller,
        record,
        input.code,
        (step, at) => use.accept(r, step, at),
        throttled,
      );
      if (!result.ok) return result;
      if (use.provesMfa) await throttle.recordSuccess(r, throttled);
      const audited = await recordAudit(context, r, {
        tenant,
        type: use.audit,
        actor: caller.id,
        payload: subject(result.record),
      });
      return { ...result, audited };
    });
  }

  return {
    async list(caller, tenant, principal) {
      authorize(caller, "authenticator.read", tenant);
      const records = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.authenticators.list(tenant, principal);
      });
      // An enrolment past its time can no longer be confirmed: it is not shown, as if removed
      // (which the next enrolment begun, or a confirmation tried, does).
      const now = context.clock.now();
      return records.filter((record) => !expired(record, now)).map(view);
    },

    async beginTotp(caller, tenant, principal, input) {
      authorize(caller, "authenticator.enrol", tenant);
      const { secrets, totp } = need();
      const name = input.name ?? DEFAULT_NAME;
      if (!NAME.test(name) || name.trim().length === 0) {
        throw new AppError("authenticator.invalid", "A name is 1–64 characters, no control ones.");
      }
      const parameters: TotpParameters = {
        ...DEFAULT_TOTP_PARAMETERS,
        ...(input.algorithm === undefined ? {} : { algorithm: input.algorithm }),
        ...(input.digits === undefined ? {} : { digits: input.digits }),
      };
      const secret = totp.newSecret();
      const id = context.random.id("auth");
      // The key URI and its QR code before anything is stored: an enrolment is committed only
      // once what shows it to the principal exists (the names it carries are cosmetic, so a
      // rename meanwhile changes nothing that matters).
      const names = await readStore(context, async (r) => {
        const owner = await requireTenant(r, tenant);
        const person = await r.principals.get(tenant, principal);
        if (person === undefined) throw new AppError("principal.unknown");
        return {
          issuer: owner.name.length > 0 ? owner.name : owner.id,
          label: person.displayName ?? person.id,
        };
      });
      const provisioning = await totp.provisioning({ secret, ...names, parameters });
      await purgeExpiredEnrolmentsIfDue(context);
      const record = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        if ((await r.principals.get(tenant, principal)) === undefined) {
          throw new AppError("principal.unknown");
        }
        await checkMethodBinding(r, throttle, {
          tenant,
          principal,
          caller,
          now: context.clock.now(),
        });
        // The principal's enrolments that expired unconfirmed go, and so do the oldest of those
        // still waiting beyond MAX_PENDING_ENROLMENTS less this one: abandoned ones (a hosted
        // flow begins one after each failed confirmation) do not pile up. Every row is removed
        // before any event is appended (rows first, the chain's head last, in every
        // transaction: the purge takes them in that order too, on PostgreSQL).
        const now = context.clock.now();
        const pending = (await r.authenticators.list(tenant, principal)).filter(
          (old) => old.status === "pending",
        );
        const lapsed = pending.filter((old) => expired(old, now));
        const waiting = pending.filter((old) => !expired(old, now));
        const replaced = waiting.slice(0, Math.max(0, waiting.length - MAX_PENDING_ENROLMENTS + 1));
        const ttl = enrolmentTtlSeconds(context);
        const events: AuditEntry[] = [];
        for (const old of lapsed) {
          if (await r.authenticators.remove(tenant, principal, old.id)) {
            events.push(enrolmentExpiredEntry(old, ttl, caller.id));
          }
        }
        for (const old of replaced) {
          if (await r.authenticators.remove(tenant, principal, old.id)) {
            events.push({
              tenant,
              type: "authenticator.enrolment_replaced",
              actor: caller.id,
              payload: {
                ...subject(old),
                createdAt: old.createdAt,
                expiresAt: expiryOf(old).toISOString(),
                replacedBy: id,
              },
            });
          }
        }
        await recordAuditRun(context, r, events);
        const created: AuthenticatorRecord = {
          tenant,
          principal,
          id,
          kind: "totp",
          name,
          status: "pending",
          sealedSecret: secrets.seal(secret, totpSecretContext(tenant, principal, id)),
          totp: parameters,
          failedAttempts: 0,
          createdAt: context.clock.now().toISOString(),
        };
        await r.authenticators.insert(created);
        await recordAudit(context, r, {
          tenant,
          type: "authenticator.enrolment_started",
          actor: caller.id,
          payload: { ...subject(created), name, ...parameters },
        });
        return created;
      });
      return { authenticator: view(record), secret, ...provisioning };
    },

    async confirmTotp(caller, tenant, principal, id, input) {
      authorize(caller, "authenticator.enrol", tenant);
      need();
      // One past its time goes before useCode's transaction, whose throttle check may append an
      // event (lifting a timed-out lock) and so take the chain's head before the enrolment's row:
      // the reverse of the purge's order (the rows, then the heads), a deadlock on PostgreSQL
      // when the purge holds that row. Here the principal's row, the enrolment's, then the head.
      const lapsed = await removeIfExpired(caller, tenant, principal, id);
      if (lapsed !== undefined) throw lapsed;
      // Confirming proves only the new authenticator: it neither resets the principal's failure
      // count (enrolling one's own authenticator must not buy more guesses against another)
      // nor counts as a fresh MFA (for removing the old one).
      const outcome = await useCode(caller, tenant, principal, id, input, {
        status: "pending",
        wrongStatus: "The authenticator is confirmed.",
        audit: "authenticator.confirmed",
        accept: (r, step, at) => r.authenticators.activate(tenant, principal, id, step, at),
        provesMfa: false,
        precondition: async (r, record) => {
          // Its secret was shown when it began and may have been kept (a photographed QR code):
          // an enrolment left pending must not bind, long after, whoever holds the password and
          // that secret. Past its time it is removed, and nothing is counted.
          if (expired(record, context.clock.now())) {
            await removeExpired(r, caller, record);
            return new AppError("authenticator.enrolment_expired", undefined, {
              expiresAt: expiryOf(record).toISOString(),
            });
          }
          // Confirming binds it: a method the principal bound since the enrolment began asks the
          // fresh MFA that beginning now would (an enrolment left pending is no way around it).
          return methodBindingRefusal(r, throttle, {
            tenant,
            principal,
            caller,
            now: context.clock.now(),
            begunAt: record.createdAt,
          });
        },
      });
      return view(settle(outcome));
    },

    async verifyTotp(caller, tenant, principal, id, input) {
      authorize(caller, "authenticator.verify", tenant);
      need();
      // Not before a confirmation: one past its time answers what it is (and is removed), which
      // purging it first would turn into `not_found` for the very request that names it.
      await purgeExpiredEnrolmentsIfDue(context);
      const outcome = await useCode(caller, tenant, principal, id, input, {
        status: "active",
        wrongStatus: "The authenticator awaits its first code: confirm it first.",
        audit: "authenticator.verified",
        accept: (r, step, at) => r.authenticators.acceptStep(tenant, principal, id, step, at),
        provesMfa: true,
      });
      const record = settle(outcome);
      const audited = outcome.ok ? outcome.audited : undefined;
      if (audited === undefined) throw new Error("A TOTP verification was not audited.");
      // The event is the audit record's: its time and id are what the decision API checks.
      const event: TotpEvent = {
        method: "totp",
        source: "platform",
        at: audited.at,
        verification: audited.id,
      };
      return { event, authenticator: view(record) };
    },

    async remove(caller, tenant, principal, id) {
      authorize(caller, "authenticator.remove", tenant);
      const refusal = await transact(context, async (r): Promise<AppError | undefined> => {
        // The principal's row first, as a confirmation takes it: on PostgreSQL a pending
        // authenticator read here cannot turn active before it is removed, past every rule.
        await r.verificationThrottles.claim(tenant, principalKey(principal));
        const record = await find(r, tenant, principal, id);
        // A pending authenticator proves nothing yet: withdrawing an enrolment needs no rule.
        const check: RemovalCheck =
          record.status === "active"
            ? await checkMethodRemoval(r, throttle, {
                tenant,
                principal,
                caller,
                now: context.clock.now(),
              })
            : { ok: true, role: removalRole(caller) };
        if (!check.ok) return check.error;
        if (!(await r.authenticators.remove(tenant, principal, id))) {
          throw new AppError("not_found");
        }
        // What the principal proved with it, in some browser or in a flow still open, counts no
        // more.
        const { role, freshMfaAt } = check;
        await withdrawProofs(r, tenant, principal, context.clock.now().toISOString(), (withdrawn) =>
          recordAudit(context, r, {
            tenant,
            type: "authenticator.removed",
            actor: caller.id,
            payload: {
              ...subject(record),
              status: record.status,
              role,
              ...withdrawn,
              ...(freshMfaAt === undefined ? {} : { freshMfaAt }),
            },
          }),
        );
        return undefined;
      });
      if (refusal !== undefined) throw refusal;
    },

    async unlock(caller, tenant, principal, input = {}) {
      authorize(caller, "authenticator.unlock", tenant);
      const { reason } = input;
      if (reason !== undefined && (typeof reason !== "string" || !REASON.test(reason))) {
        throw new AppError("request.invalid", "A reason is 1–500 characters, no control ones.");
      }
      const role = removalRole(caller);
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        if ((await r.principals.get(tenant, principal)) === undefined) {
          throw new AppError("principal.unknown");
        }
        const before = await r.verificationThrottles.claim(tenant, principalKey(principal));
        await r.verificationThrottles.clear(tenant, principalKey(principal));
        // Every method's own lock and count too: TOTP, WebAuthn, the recovery-code set.
        const authenticators = [
          ...(await r.authenticators.unlockAll(tenant, principal)),
          ...(await r.webauthnCredentials.unlockAll(tenant, principal)),
        ].sort();
        const codes = (await r.recoveryCodes.status(tenant, principal))?.set;
        const codesLifted = await r.recoveryCodes.unlock(tenant, principal);
        const result: UnlockResult = {
          principal,
          wasLocked: before.lockedAt !== undefined,
          failedAttempts: before.consecutiveFailures,
          authenticators,
          ...(codes === undefined || !codesLifted
            ? {}
            : {
                recoveryCodes: {
                  set: codes.id,
                  wasLocked: codes.lockedAt !== undefined,
                  failedAttempts: codes.failedAttempts,
                },
              }),
        };
        await recordAudit(context, r, {
          tenant,
          type: "authenticator.unlocked",
          actor: caller.id,
          payload: {
            ...result,
            by: "administrator",
            role,
            ...(reason === undefined ? {} : { reason }),
          },
        });
        return result;
      });
    },
  };
}

/** Who and what an audit event is about: never a secret, never a code. */
const subject = (record: AuthenticatorRecord) => ({
  principal: record.principal,
  authenticator: record.id,
  kind: record.kind,
});

/** The record as shown; a pending one says until when it may be confirmed. */
function toView(record: AuthenticatorRecord, expiresAt: Date): TotpAuthenticatorView {
  const { sealedSecret: _sealed, lastStep: _step, ...view } = record;
  return record.status === "pending" ? { ...view, expiresAt: expiresAt.toISOString() } : view;
}
