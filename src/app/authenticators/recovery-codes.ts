import type { RecoveryCodeEvent } from "../../core/evidence.js";
import { authorize } from "../access/permissions.js";
import type {
  Application,
  Caller,
  RecoveryCodeNotice,
  RecoveryCodeStatusView,
  RecoveryCodeUse,
} from "../application.js";
import { readStore, recordAudit, transact, type Context } from "../context.js";
import { withdrawProofs } from "../flows/withdraw-proofs.js";
import { AppError, type ErrorCode } from "../errors.js";
import type { Repositories, SecretHasher } from "../ports.js";
import type { RecoveryCodeRecord, RecoveryCodeSetRecord } from "../records.js";
import { requireTenant } from "../tenants/tenants.js";
import { checkMethodBinding, checkMethodRemoval } from "./removal-rules.js";
import { purgeExpiredEnrolmentsIfDue } from "./pending-enrolments.js";
import {
  throttleError,
  verificationAttempt,
  verificationThrottle,
  type VerificationAttempt,
} from "./verification-throttle.js";
import {
  displayRecoveryCode,
  formatRecoveryCode,
  parseRecoveryCode,
  RECOVERY_CODE_BYTES,
  type ParsedRecoveryCode,
} from "./recovery-code-format.js";

/** Codes in a set. */
export const RECOVERY_CODE_COUNT = 10;
/** NIST SP 800-63B §5.2.2 (rev 3) / §3.2.2 (rev 4): at most 100 consecutive failures. */
export const RECOVERY_CODE_FAILURE_LIMIT = 100;
/** At or below this many codes left, a use tells the principal to generate new ones. */
export const RECOVERY_CODES_LOW = 3;

/**
 * The refusals of {@link recoveryCodeUseCases} `verify` that are failed attempts: counted against
 * the set, and what the principal's and client's throttle counts too. `recovery_code.locked`
 * is not among them: it refuses without trying.
 */
export const RECOVERY_CODE_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "recovery_code.malformed_code",
  "recovery_code.wrong_code",
  "recovery_code.used",
]);

type Attempt =
  | { readonly ok: true; readonly use: RecoveryCodeUse }
  | { readonly ok: false; readonly code: ErrorCode; readonly failedAttempts?: number }
  | { readonly ok: false; readonly refused: AppError };

/**
 * What the read before a verification found, and what the hash comparison made of it: an unused
 * code that matched, to be used, or the reason for refusing.
 */
type Checked =
  | { readonly set: RecoveryCodeSetRecord; readonly matched: RecoveryCodeRecord }
  | { readonly set: RecoveryCodeSetRecord; readonly reason: ErrorCode };

/**
 * A principal's recovery codes: saved look-up secrets (SP 800-63B-4; SECURITY-CHECKLIST N8).
 * Ten codes of 100 random bits (80 of them secret) from `context.random`, shown once and stored
 * only as salted password hashes; one current set per principal, replaced on request. Each code
 * is accepted once (a compare-and-set in the store, DESIGN invariant 7); failures are counted
 * against the set and lock it at {@link RECOVERY_CODE_FAILURE_LIMIT}. Every change is audited in
 * its transaction, with counts, never a code or a hash.
 *
 * A verification hashes once: the code's locator finds its stored hash, and an unknown locator is
 * compared against a decoy hash, so that a wrong code costs the same whatever part of it is wrong.
 * The slow hash runs outside any store transaction.
 *
 * Every verification also goes through the principal's and client address's throttle
 * (`verification-throttle.ts`), shared with the other methods: admitted before the code is
 * parsed or hashed (a throttled attempt hashes nothing and uses no code), guarded again in the
 * transaction that records the outcome, a failure counted there after the set's own count and
 * before any audit event, a success resetting the principal's count.
 */
export function recoveryCodeUseCases(
  context: Context,
  hasher: SecretHasher | undefined,
): Application["recoveryCodes"] {
  const need = (): SecretHasher => {
    if (hasher === undefined) throw new AppError("recovery_code.not_configured");
    return hasher;
  };
  const throttle = verificationThrottle(context);
  let decoy: Promise<string> | undefined;
  const decoyHash = (h: SecretHasher): Promise<string> =>
    (decoy ??= h.hash(parsed(newCode()).canonical));

  const newCode = (): string =>
    formatRecoveryCode(Buffer.from(context.random.secret(RECOVERY_CODE_BYTES), "base64url"));

  /** Ten codes with distinct locators, so that each locator finds one code. */
  function newCodes(): ParsedRecoveryCode[] {
    const codes = new Map<string, ParsedRecoveryCode>();
    while (codes.size < RECOVERY_CODE_COUNT) {
      const code = parsed(newCode());
      if (!codes.has(code.locator)) codes.set(code.locator, code);
    }
    return [...codes.values()];
  }

  /** Reads the set and compares the code with its hash, outside any transaction. */
  async function check(
    h: SecretHasher,
    tenant: string,
    principal: string,
    code: ParsedRecoveryCode | undefined,
  ): Promise<Checked> {
    const found = await readStore(context, async (r) => {
      await requireTenant(r, tenant);
      return r.recoveryCodes.find(tenant, principal, code?.locator ?? "");
    });
    if (found === undefined)
      throw new AppError("not_found", "The principal has no recovery codes.");
    const { set } = found;
    if (set.lockedAt !== undefined) return { set, reason: "recovery_code.locked" };
    if (code === undefined) return { set, reason: "recovery_code.malformed_code" };
    const matches = await h.verify(code.canonical, found.code?.hash ?? (await decoyHash(h)));
    if (!matches || found.code === undefined) return { set, reason: "recovery_code.wrong_code" };
    if (found.code.usedAt !== undefined) return { set, reason: "recovery_code.used" };
    return { set, matched: found.code };
  }

  /**
   * Uses the matched code, or counts the failure, in one transaction with its audit events.
   * Expected failures are returned, not thrown, so that the count and its audit commit.
   */
  async function settleCheck(
    r: Repositories,
    caller: Caller,
    tenant: string,
    principal: string,
    checked: Checked,
    throttled: VerificationAttempt,
  ): Promise<Attempt> {
    const at = context.clock.now().toISOString();
    const { set } = checked;
    let reason: ErrorCode;
    if ("reason" in checked) {
      if (checked.reason === "recovery_code.locked") return { ok: false, code: checked.reason };
      reason = checked.reason;
    } else {
      const { matched } = checked;
      if (await r.recoveryCodes.use(tenant, principal, set.id, matched.locator, at)) {
        const remaining = (await r.recoveryCodes.status(tenant, principal))?.remaining ?? 0;
        await throttle.recordSuccess(r, throttled);
        const audited = await recordAudit(context, r, {
          tenant,
          type: "recovery_code.used",
          actor: caller.id,
          payload: { principal, set: set.id, remaining },
        });
        // The event is the audit record's: its time and id are what the decision API checks.
        const event: RecoveryCodeEvent = {
          method: "recovery_code",
          source: "platform",
          at: audited.at,
          verification: audited.id,
        };
        const notice = noticeFor(remaining);
        return { ok: true, use: { event, remaining, ...(notice === undefined ? {} : { notice }) } };
      }
      // Lost the compare-and-set: used concurrently, or the set was replaced or locked meanwhile.
      const now = await r.recoveryCodes.find(tenant, principal, matched.locator);
      if (now === undefined) return { ok: false, code: "recovery_code.wrong_code" };
      if (now.set.lockedAt !== undefined) return { ok: false, code: "recovery_code.locked" };
      reason = now.set.id === set.id ? "recovery_code.used" : "recovery_code.wrong_code";
    }
    const counted = await r.recoveryCodes.recordFailure(
      tenant,
      principal,
      RECOVERY_CODE_FAILURE_LIMIT,
      at,
    );
    if (counted === undefined) {
      // Checked before another attempt locked the set (or revoked it): that one counted the
      // limit and audited the lock; this one is refused as the lock refuses.
      const current = await r.recoveryCodes.status(tenant, principal);
      return {
        ok: false,
        code:
          current?.set.lockedAt === undefined ? "recovery_code.wrong_code" : "recovery_code.locked",
      };
    }
    // Throttle rows before the audit chain's head, as every verification path takes them.
    const throttling = await throttle.recordFailure(r, throttled);
    await recordAudit(context, r, {
      tenant,
      type: "recovery_code.verification_failed",
      actor: caller.id,
      payload: {
        principal,
        set: set.id,
        reason,
        failedAttempts: counted.failedAttempts,
        principalFailures: throttling.principalFailures,
        ...(throttling.clientFailures === undefined
          ? {}
          : { clientFailures: throttling.clientFailures }),
      },
    });
    // The increment is atomic: exactly one failure reaches the limit, and audits the lock.
    if (counted.failedAttempts === RECOVERY_CODE_FAILURE_LIMIT) {
      await recordAudit(context, r, {
        tenant,
        type: "recovery_code.locked",
        actor: caller.id,
        payload: { principal, set: set.id, failedAttempts: counted.failedAttempts },
      });
    }
    return { ok: false, code: reason, failedAttempts: counted.failedAttempts };
  }

  return {
    async generate(caller, tenant, principal) {
      authorize(caller, "authenticator.enrol", tenant);
      const h = need();
      const codes = newCodes();
      const hashed = await Promise.all(
        codes.map(async (code) => ({ locator: code.locator, hash: await h.hash(code.canonical) })),
      );
      const id = context.random.id("rcs");
      const createdAt = context.clock.now().toISOString();
      await transact(context, async (r) => {
        await requireTenant(r, tenant);
        if ((await r.principals.get(tenant, principal)) === undefined) {
          throw new AppError("principal.unknown");
        }
        // Codes replace the principal's current set: binding them needs a fresh MFA too.
        await checkMethodBinding(r, throttle, {
          tenant,
          principal,
          caller,
          now: context.clock.now(),
        });
        const previous = await r.recoveryCodes.status(tenant, principal);
        if (previous?.set.lockedAt !== undefined) {
          throw new AppError(
            "recovery_code.locked",
            "The recovery codes are locked after too many failed attempts: an administrator revokes them first.",
          );
        }
        await r.recoveryCodes.replace(
          { tenant, principal, id, createdAt },
          hashed.map(({ locator, hash }) => ({ tenant, principal, set: id, locator, hash })),
        );
        const generated = (replaced: Record<string, unknown>) =>
          recordAudit(context, r, {
            tenant,
            type: "recovery_code.generated",
            actor: caller.id,
            payload: { principal, set: id, count: codes.length, ...replaced },
          });
        // A first set replaces nothing, so it withdraws nothing. What a replaced code proved, in
        // some browser or in a flow still open, counts no more.
        if (previous === undefined) await generated({});
        else {
          await withdrawProofs(
            r,
            tenant,
            principal,
            context.clock.now().toISOString(),
            (withdrawn) =>
              generated({
                replaced: previous.set.id,
                unusedReplaced: previous.remaining,
                ...withdrawn,
              }),
          );
        }
      });
      return { codes: codes.map((code) => displayRecoveryCode(code.canonical)), createdAt };
    },

    async status(caller, tenant, principal) {
      authorize(caller, "authenticator.read", tenant);
      const status = await readStore(context, async (r) => {
        await requireTenant(r, tenant);
        return r.recoveryCodes.status(tenant, principal);
      });
      if (status === undefined) {
        return { enrolled: false, total: 0, remaining: 0, failedAttempts: 0 };
      }
      const { set, total, remaining } = status;
      const view: RecoveryCodeStatusView = {
        enrolled: true,
        total,
        remaining,
        failedAttempts: set.failedAttempts,
        createdAt: set.createdAt,
        ...(set.lastUsedAt === undefined ? {} : { lastUsedAt: set.lastUsedAt }),
        ...(set.lockedAt === undefined ? {} : { lockedAt: set.lockedAt }),
      };
      return view;
    },

    async verify(caller, tenant, principal, { code, clientAddress }) {
      authorize(caller, "authenticator.verify", tenant);
      const h = need();
      const throttled = verificationAttempt(caller, tenant, principal, clientAddress);
      await throttle.purgeIfDue();
      await purgeExpiredEnrolmentsIfDue(context);
      // Before the code is parsed or hashed: a throttled attempt checks nothing and uses nothing.
      await throttle.admit(throttled);
      const checked = await check(h, tenant, principal, parseRecoveryCode(code));
      // A locked set refuses without trying: nothing to count, nothing to write.
      if ("reason" in checked && checked.reason === "recovery_code.locked") {
        throw new AppError(checked.reason);
      }
      const outcome = await transact(context, async (r): Promise<Attempt> => {
        // Again, holding the principal's row: attempts admitted together queue here and see
        // each other's failures; a refusal now uses no code and counts nothing.
        const refusal = await throttle.guard(r, throttled);
        if (refusal !== undefined) return { ok: false, refused: throttleError(refusal) };
        return settleCheck(r, caller, tenant, principal, checked, throttled);
      });
      if (outcome.ok) return outcome.use;
      if ("refused" in outcome) throw outcome.refused;
      throw new AppError(
        outcome.code,
        undefined,
        outcome.failedAttempts === undefined
          ? undefined
          : { failedAttempts: outcome.failedAttempts },
      );
    },

    async revoke(caller, tenant, principal) {
      authorize(caller, "authenticator.remove", tenant);
      const refusal = await transact(context, async (r): Promise<AppError | undefined> => {
        await requireTenant(r, tenant);
        const status = await r.recoveryCodes.status(tenant, principal);
        if (status === undefined) {
          throw new AppError("not_found", "The principal has no recovery codes.");
        }
        // The platform's backend needs a fresh MFA, as for removing an authenticator;
        // administrators none. No last-method rule: codes that may have leaked must go at once.
        const check = await checkMethodRemoval(r, throttle, {
          tenant,
          principal,
          caller,
          now: context.clock.now(),
          method: "recovery_codes",
        });
        if (!check.ok) return check.error;
        if (!(await r.recoveryCodes.revoke(tenant, principal))) {
          throw new AppError("not_found", "The principal has no recovery codes.");
        }
        // What one of them proved (a leaked one, say), in some browser or in a flow still open,
        // counts no more.
        const { role, freshMfaAt } = check;
        await withdrawProofs(r, tenant, principal, context.clock.now().toISOString(), (withdrawn) =>
          recordAudit(context, r, {
            tenant,
            type: "recovery_code.revoked",
            actor: caller.id,
            payload: {
              principal,
              set: status.set.id,
              remaining: status.remaining,
              failedAttempts: status.set.failedAttempts,
              locked: status.set.lockedAt !== undefined,
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
  };
}

/** A code this module formatted: it always parses. */
function parsed(code: string): ParsedRecoveryCode {
  const result = parseRecoveryCode(code);
  if (result === undefined) throw new Error("a generated recovery code did not parse");
  return result;
}

/** Tells the principal to generate new codes when few or none are left. */
function noticeFor(remaining: number): RecoveryCodeNotice | undefined {
  if (remaining === 0) {
    return {
      code: "recovery_codes.exhausted",
      message: "That was the last recovery code: generate new ones now.",
    };
  }
  if (remaining <= RECOVERY_CODES_LOW) {
    return {
      code: "recovery_codes.running_low",
      message: `Only ${String(remaining)} recovery codes are left: generate new ones.`,
    };
  }
  return undefined;
}
