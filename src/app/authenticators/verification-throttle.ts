/**
 * Abuse resistance for every verification path (TOTP, WebAuthn, recovery codes): failed attempts
 * are throttled per principal and per client address with exponential backoff, and a principal
 * that fails {@link VERIFICATION_THROTTLE_DEFAULTS}.lock.afterFailures times in a row is locked
 * (NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failures) until an administrator unlocks it
 * or the lock times out. A verification use case calls, inside its one transaction:
 *
 * 1. {@link VerificationThrottle.guard} before checking anything: a refusal is returned (not
 *    thrown), and the attempt then checks no code, consumes no step and extends no backoff;
 * 2. {@link VerificationThrottle.recordFailure} after a failed check;
 * 3. {@link VerificationThrottle.recordSuccess} after a successful verification.
 *
 * A path that checks outside its write transaction (a slow hash, a signature verification)
 * first calls {@link VerificationThrottle.admit} (or {@link VerificationThrottle.admission} in
 * the read it makes anyway), so that a throttled attempt checks nothing, and then `guard` again in the transaction that records the outcome, so that attempts that
 * were admitted together still queue on the principal's row and see each other's failures.
 *
 * A client address is the caller's word, so it counts only as far as the caller reaches
 * ({@link addressScopeOf}): platform-wide when the platform's own backend (a key of every tenant)
 * reports it, else in the attempt's tenant; an address the server observed itself (a hosted
 * flow's browser) counts platform-wide too. A principal counts in its tenant.
 *
 * A verification use case also calls {@link VerificationThrottle.purgeIfDue} before its
 * transaction, so that rows which hold nothing any more are deleted (the table would otherwise
 * keep one row per principal and per client address ever seen).
 *
 * State lives in the shared store (one statement per change), so the limits hold across server
 * instances. Time comes only from the context's clock. On PostgreSQL the guard holds the
 * principal's row, then the client address's, until the transaction ends; call `recordFailure`
 * before appending the attempt's own audit events, so that every transaction takes throttle rows
 * (principal, then client address) before the audit chain's head and none waits for another in
 * a cycle.
 *
 * @module
 */
import { isIP } from "node:net";
import type { Caller } from "../application.js";
import { readStore, recordAudit, transact, type Context } from "../context.js";
import { requireTenant } from "../tenants/tenants.js";
import { AppError } from "../errors.js";
import { isInternalAddress } from "../internal-address.js";
import type { Repositories, Store } from "../ports.js";
import type { VerificationThrottleRecord } from "../records.js";

/** How one throttle key backs off: free failures, then `baseSeconds × 2^k` up to `maxSeconds`. */
export interface BackoffPolicy {
  /** Failures in a row that cost nothing: typing mistakes. */
  readonly freeFailures: number;
  /** The wait after the first failure beyond the free ones; it doubles with each further one. */
  readonly baseSeconds: number;
  readonly maxSeconds: number;
  /** A key with no failure for this long starts counting again from zero. */
  readonly forgetAfterSeconds: number;
}

/** The limits on failed verifications. */
export interface VerificationThrottlePolicy {
  /** Every method of one principal, wherever the attempts come from (online guessing). */
  readonly principal: BackoffPolicy;
  /** Every principal tried from one client address (credential stuffing, password spraying). */
  readonly client: BackoffPolicy;
  /** The principal's lock: after this many failures in a row, until unlocked or timed out. */
  readonly lock: { readonly afterFailures: number; readonly timeoutSeconds: number };
  /**
   * How recent a successful verification must be for the platform's backend to remove an
   * authenticator on the principal's behalf (a fresh MFA).
   */
  readonly freshMfaSeconds: number;
}

/**
 * The defaults: a principal gets 5 free failures, then waits 1 s, 2 s, 4 s… up to 15 minutes; a
 * client address gets 20 free failures, then the same. Failures are forgotten after a quiet day
 * (principal) or hour (client). 100 failures in a row lock the principal for an hour. Removing
 * an authenticator on the principal's behalf needs a verification within the last 5 minutes.
 */
export const VERIFICATION_THROTTLE_DEFAULTS: VerificationThrottlePolicy = Object.freeze({
  principal: Object.freeze({
    freeFailures: 5,
    baseSeconds: 1,
    maxSeconds: 900,
    forgetAfterSeconds: 86_400,
  }),
  client: Object.freeze({
    freeFailures: 20,
    baseSeconds: 1,
    maxSeconds: 900,
    forgetAfterSeconds: 3600,
  }),
  lock: Object.freeze({ afterFailures: 100, timeoutSeconds: 3600 }),
  freshMfaSeconds: 300,
});

/** Who is verifying, from where, and who asks (for the audit log). */
export interface VerificationAttempt {
  readonly tenant: string;
  readonly principal: string;
  /**
   * The end user's IP address as the caller reports it, checked with {@link checkClientAddress};
   * without it only the principal's limit applies.
   */
  readonly clientAddress?: string;
  /**
   * Where the address's failures count, by who reports it ({@link addressScopeOf}): `platform`,
   * on one row for every tenant, only when the platform's own backend vouches for the address or
   * the server observed it itself (a hosted flow); `tenant` (also when absent), in the attempt's
   * tenant.
   */
  readonly addressScope?: AddressScope;
  /** The caller's id, recorded as the actor of lock and unlock events. */
  readonly actor: string;
}

/**
 * Where a client address's failures are counted: `platform` on one row for the whole platform
 * ({@link CLIENT_ADDRESS_SCOPE}), `tenant` on a row of the attempt's tenant.
 */
export type AddressScope = "platform" | "tenant";

/** Why an attempt is refused before anything is checked. */
export type ThrottleRefusal =
  | { readonly code: "authenticator.throttled"; readonly retryAfter: number }
  | { readonly code: "authenticator.locked"; readonly lockedUntil?: string };

/** The state of the keys after a failure. */
export interface FailureCount {
  /** The principal's failures in a row (every method). */
  readonly principalFailures: number;
  /**
   * The client address's failures in a row in the attempt's address scope (its tenant, or the
   * whole platform when the platform's backend reported it), when one was given: what its
   * backoff is judged on.
   */
  readonly clientFailures?: number;
  /** True when this failure locked the principal. */
  readonly locked: boolean;
}

/** The throttle functions, bound to a context and a policy. */
export interface VerificationThrottle {
  readonly policy: VerificationThrottlePolicy;
  /**
   * Refuses the attempt when the principal is locked or either key is backing off; returns
   * undefined when it may go ahead. Holds the principal's throttle row, then the client
   * address's, until the transaction ends, so concurrent attempts on one principal or from one
   * address (on any instance) queue behind each other. A lock whose time-out has passed is
   * lifted here and audited (`authenticator.unlocked`, `by: "timeout"`).
   */
  guard(r: Repositories, attempt: VerificationAttempt): Promise<ThrottleRefusal | undefined>;
  /**
   * {@link VerificationThrottle.guard}'s judgement as a read, in a read of its own (after checking
   * that the tenant exists), throwing its refusal ({@link throttleError}): for paths that check
   * the submitted secret outside their write transaction, before they look at it.
   */
  admit(attempt: VerificationAttempt): Promise<void>;
  /**
   * What {@link VerificationThrottle.admit} judges, within a read the caller makes anyway (and
   * in which it has already found the tenant): the refusal, or undefined to go ahead. Nothing is
   * written; the guard in the outcome's transaction decides again.
   */
  admission(r: Repositories, attempt: VerificationAttempt): Promise<ThrottleRefusal | undefined>;
  /** Counts a failed verification on both keys; locks (and audits) at the limit. */
  recordFailure(r: Repositories, attempt: VerificationAttempt): Promise<FailureCount>;
  /**
   * A successful verification: the principal's count and backoff start again, and the time is
   * kept as proof of a fresh MFA. The client address's count is left alone: succeeding on one's
   * own account must not launder an address that guesses at others.
   */
  recordSuccess(r: Repositories, attempt: VerificationAttempt): Promise<void>;
  /** When the principal last verified successfully, if ever. */
  lastSuccess(r: Repositories, tenant: string, principal: string): Promise<string | undefined>;
  /**
   * At most once a minute per store (instance), deletes throttle rows that hold nothing: not
   * locked, no backoff pending, and no failure or success within {@link throttleRetentionSeconds}
   * (so a purged key behaves exactly as one never seen). Runs in transactions of its own, each
   * deleting at most {@link THROTTLE_PURGE_BATCH} rows, outside any verification's transaction:
   * call it before opening that. Returns how many rows went (0 when not due).
   */
  purgeIfDue(): Promise<number>;
}

/**
 * How long a throttle row is kept after its last failure or success: a week, or the policy's
 * longest window if that is longer. It must be at least the longest window during which a row's
 * past still matters: a failure counts for `forgetAfterSeconds` (a day for a principal), a
 * success proves a fresh MFA for `freshMfaSeconds`, a backoff lasts at most `maxSeconds` and a
 * lock (never purged anyway) `timeoutSeconds`. A week is seven times the longest default, so
 * clock skew between instances, or a policy changed between deployments, cannot make the purge
 * forget a failure that another instance still counts.
 */
export function throttleRetentionSeconds(policy: VerificationThrottlePolicy): number {
  return Math.max(
    7 * 86_400,
    policy.principal.forgetAfterSeconds,
    policy.client.forgetAfterSeconds,
    policy.principal.maxSeconds,
    policy.client.maxSeconds,
    policy.lock.timeoutSeconds,
    policy.freshMfaSeconds,
  );
}

/**
 * The most rows one purge transaction deletes, and the most transactions one due purge runs:
 * each transaction stays short (on SQLite it holds the one write lock), and an instance still
 * purges up to 10,000 rows a minute when a spray of client addresses left many behind.
 */
export const THROTTLE_PURGE_BATCH = 1000;
const PURGE_TRANSACTIONS = 10;
const PURGE_INTERVAL_MS = 60_000;

/** When each store (one per instance) was last purged, shared by every throttle over it. */
const lastPurges = new WeakMap<Store, number>();

/**
 * The attempt of `caller` on `principal`'s behalf, from `clientAddress` when the request names
 * one (checked with {@link checkClientAddress}: `request.invalid` otherwise), counted in the
 * address scope of `caller` ({@link addressScopeOf}).
 */
export function verificationAttempt(
  caller: Caller,
  tenant: string,
  principal: string,
  clientAddress: string | undefined,
): VerificationAttempt {
  if (clientAddress === undefined) return { tenant, principal, actor: caller.id };
  const checked = checkClientAddress(clientAddress);
  return {
    tenant,
    principal,
    actor: caller.id,
    clientAddress: checked,
    addressScope: addressScopeOf(caller, checked),
  };
}

/**
 * Where the client address `address` that `caller` reports counts. The address is the caller's
 * word, and counts only as far as the caller's reach: a key that reaches every tenant (the
 * platform's own backend) counts it platform-wide, so that a spray over many tenants gets the
 * free failures of one; any other key counts it in the attempt's tenant, so that a tenant's
 * backend can neither throttle an address for other tenants' users (reporting failures "from"
 * their office) nor read their failures in its audit's `clientFailures` or its `retryAfter`.
 *
 * An address the server observed itself (`observesClientAddress`: a hosted flow's browser, at
 * `request.ip`) is no one's word, and counts platform-wide too, so that guessing through the
 * flows of many tenants gets the free failures of one; unless it is on an internal network
 * ({@link isInternalAddress}): a proxy left out of the trusted ones is every client's address,
 * and counted platform-wide its failures in one tenant would hold back every tenant's users. It
 * counts in the flow's tenant, as it did before.
 */
export function addressScopeOf(
  caller: Pick<Caller, "tenants" | "observesClientAddress">,
  address: string,
): AddressScope {
  if (caller.tenants === "all") return "platform";
  return caller.observesClientAddress === true && !isInternalAddress(address)
    ? "platform"
    : "tenant";
}

/**
 * The scope of platform-wide client-address throttle rows, which no tenant id can take (a tenant
 * id is lowercase letters, digits and hyphens: tenants.ts). Principal rows, and the address rows
 * of a caller that reaches only some tenants, are kept under the attempt's tenant.
 */
export const CLIENT_ADDRESS_SCOPE = "*";

/** The scope (a tenant, or {@link CLIENT_ADDRESS_SCOPE}) of the attempt's client-address row. */
const clientScope = (attempt: VerificationAttempt): string =>
  attempt.addressScope === "platform" ? CLIENT_ADDRESS_SCOPE : attempt.tenant;

/** The throttle key of a principal. */
export const principalKey = (principal: string): string => `principal:${principal}`;

/**
 * The throttle key of a client address. IPv4 addresses (also when mapped into IPv6) key as
 * they are; IPv6 addresses by their /64 prefix, since one subscriber usually holds a whole /64
 * and could otherwise rotate addresses to escape the limit (RFC 6177, RFC 7421).
 */
export function clientKey(address: string): string {
  const checked = checkClientAddress(address);
  if (isIP(checked) === 4) return `client:${checked}`;
  const groups = expandIpv6(checked);
  const mapped = groups.slice(0, 6).join(":") === "0:0:0:0:0:ffff";
  if (mapped) {
    const [high, low] = [
      Number.parseInt(groups[6] ?? "0", 16),
      Number.parseInt(groups[7] ?? "0", 16),
    ];
    return `client:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return `client:${groups.slice(0, 4).join(":")}::/64`;
}

/**
 * Checks a client address as `node:net` `isIP` does (IPv4 dotted quad or IPv6, an IPv6 zone
 * dropped); throws `request.invalid` otherwise. Returns the address, lower-cased.
 */
export function checkClientAddress(address: unknown): string {
  if (typeof address !== "string" || address.length > 64) {
    throw new AppError("request.invalid", "clientAddress is not an IP address.");
  }
  const plain = address.split("%")[0]?.toLowerCase() ?? "";
  if (isIP(address) === 0 || isIP(plain) === 0) {
    throw new AppError("request.invalid", "clientAddress is not an IP address.");
  }
  return plain;
}

/** The eight groups of a valid IPv6 address, each as lower-case hex without leading zeros. */
function expandIpv6(address: string): string[] {
  let text = address;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail !== null) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const middle = rest === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...middle, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}

/**
 * The wait after `failures` failures in a row: none for the free ones, then `base × 2^k` seconds
 * (k = 0 for the first beyond them), at most `max`.
 */
export function backoffSeconds(policy: BackoffPolicy, failures: number): number {
  const beyond = failures - policy.freeFailures;
  if (beyond <= 0) return 0;
  // 2^30 seconds is decades: past any sensible maximum, and safe from overflow.
  return Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.min(beyond - 1, 30));
}

/** Seconds from `now` until `until`, rounded up, at least 1. */
const secondsUntil = (until: string, now: Date): number =>
  Math.max(1, Math.ceil((Date.parse(until) - now.getTime()) / 1000));

const plus = (now: Date, seconds: number): string =>
  new Date(now.getTime() + seconds * 1000).toISOString();

/** A refusal when the principal's or the client address's backoff has not run out. */
function backoffRefusal(
  policy: VerificationThrottlePolicy,
  state: VerificationThrottleRecord | undefined,
  client: VerificationThrottleRecord | undefined,
  now: Date,
): ThrottleRefusal | undefined {
  for (const [record, backoff] of [
    [state, policy.principal],
    [client, policy.client],
  ] as const) {
    if (backingOff(record, backoff, now)) {
      return {
        code: "authenticator.throttled",
        retryAfter: secondsUntil(record.nextAttemptAt, now),
      };
    }
  }
  return undefined;
}

/** True when the key's next attempt lies ahead and its failures are not yet forgotten. */
function backingOff(
  state: VerificationThrottleRecord | undefined,
  policy: BackoffPolicy,
  now: Date,
): state is VerificationThrottleRecord & { nextAttemptAt: string } {
  if (state?.nextAttemptAt === undefined) return false;
  if (Date.parse(state.nextAttemptAt) <= now.getTime()) return false;
  const quietSince = now.getTime() - policy.forgetAfterSeconds * 1000;
  return state.lastFailureAt === undefined || Date.parse(state.lastFailureAt) >= quietSince;
}

/** The throttle for verification use cases, over `context`'s clock and audit log. */
export function verificationThrottle(
  context: Context,
  policy: VerificationThrottlePolicy = VERIFICATION_THROTTLE_DEFAULTS,
): VerificationThrottle {
  const throttle: VerificationThrottle = {
    policy,

    async guard(r, attempt) {
      const { tenant, principal } = attempt;
      const now = context.clock.now();
      let state = await r.verificationThrottles.claim(tenant, principalKey(principal));
      // The client address's row is claimed too, after the principal's and before the audit
      // chain's head (the order of every path, so no two transactions wait in a cycle): attempts
      // from one address against many principals, on any instance, then queue behind each other
      // and each sees the failures counted before it. Merely read, a burst would all see the
      // count from before it and all be checked.
      const client =
        attempt.clientAddress === undefined
          ? undefined
          : await r.verificationThrottles.claim(
              clientScope(attempt),
              clientKey(attempt.clientAddress),
            );
      if (state.lockedAt !== undefined) {
        const until = state.lockExpiresAt;
        if (until !== undefined && Date.parse(until) <= now.getTime()) {
          await r.verificationThrottles.clear(tenant, principalKey(principal));
          await recordAudit(context, r, {
            tenant,
            type: "authenticator.unlocked",
            actor: attempt.actor,
            payload: {
              principal,
              by: "timeout",
              lockedAt: state.lockedAt,
              lockExpiresAt: until,
              failedAttempts: state.consecutiveFailures,
            },
          });
          state = { tenant, key: state.key, consecutiveFailures: 0 };
        } else {
          return {
            code: "authenticator.locked",
            ...(until === undefined ? {} : { lockedUntil: until }),
          };
        }
      }
      return backoffRefusal(policy, state, client, now);
    },

    async admit(attempt) {
      const refusal = await readStore(context, async (r) => {
        await requireTenant(r, attempt.tenant);
        return throttle.admission(r, attempt);
      });
      if (refusal !== undefined) throw throttleError(refusal);
    },

    // A read, not a write: most attempts find nothing to refuse, and the guard in the outcome's
    // transaction decides again (and lifts an expired lock, audited) holding the principal's row.
    async admission(r, attempt) {
      const { tenant, principal, clientAddress } = attempt;
      const now = context.clock.now();
      const state = await r.verificationThrottles.get(tenant, principalKey(principal));
      const client =
        clientAddress === undefined
          ? undefined
          : await r.verificationThrottles.get(clientScope(attempt), clientKey(clientAddress));
      const until = state?.lockExpiresAt;
      const lockHolds =
        state?.lockedAt !== undefined && (until === undefined || Date.parse(until) > now.getTime());
      if (lockHolds) {
        return {
          code: "authenticator.locked",
          ...(until === undefined ? {} : { lockedUntil: until }),
        };
      }
      // An expired lock admits: its backoff is forgotten with it.
      return backoffRefusal(policy, state?.lockedAt === undefined ? state : undefined, client, now);
    },

    async recordFailure(r, attempt) {
      const { tenant, principal } = attempt;
      const now = context.clock.now();
      const at = now.toISOString();
      const count = async (scope: string, key: string, backoff: BackoffPolicy) => {
        const forgetBefore = plus(now, -backoff.forgetAfterSeconds);
        const state = await r.verificationThrottles.recordFailure(scope, key, {
          at,
          forgetBefore,
        });
        const wait = backoffSeconds(backoff, state.consecutiveFailures);
        if (wait > 0) await r.verificationThrottles.postpone(scope, key, plus(now, wait));
        return state.consecutiveFailures;
      };
      const principalFailures = await count(tenant, principalKey(principal), policy.principal);
      const lockExpiresAt = plus(now, policy.lock.timeoutSeconds);
      const locked =
        principalFailures >= policy.lock.afterFailures &&
        (await r.verificationThrottles.lock(tenant, principalKey(principal), {
          threshold: policy.lock.afterFailures,
          at,
          expiresAt: lockExpiresAt,
        }));
      const clientFailures =
        attempt.clientAddress === undefined
          ? undefined
          : await count(clientScope(attempt), clientKey(attempt.clientAddress), policy.client);
      // Audited after every throttle row is written: rows first, the audit chain's head last,
      // in every transaction, so that two of them never wait for each other (PostgreSQL).
      if (locked) {
        await recordAudit(context, r, {
          tenant,
          type: "authenticator.locked",
          actor: attempt.actor,
          payload: {
            principal,
            scope: "principal",
            failedAttempts: principalFailures,
            lockExpiresAt,
          },
        });
      }
      return clientFailures === undefined
        ? { principalFailures, locked }
        : { principalFailures, clientFailures, locked };
    },

    // Written on every success, even when the row already holds no failure and no backoff: its
    // time is the proof of a fresh MFA that removal on the principal's behalf asks for
    // (removal-rules.ts) and the row's last activity, which keeps it from the purge.
    async recordSuccess(r, attempt) {
      const at = context.clock.now().toISOString();
      await r.verificationThrottles.recordSuccess(
        attempt.tenant,
        principalKey(attempt.principal),
        at,
      );
    },

    async lastSuccess(r, tenant, principal) {
      return (await r.verificationThrottles.get(tenant, principalKey(principal)))?.lastSuccessAt;
    },

    // Not audited: a purged row holds no failure that still counts, no backoff and no lock, so
    // the next attempt of its key is treated exactly as if the row were still there (the audit
    // log already holds every failure, lock and unlock). Deleting it changes no security
    // decision, which is what the audit log records.
    async purgeIfDue() {
      const now = context.clock.now();
      const last = lastPurges.get(context.store);
      if (last !== undefined && now.getTime() - last < PURGE_INTERVAL_MS) return 0;
      lastPurges.set(context.store, now.getTime());
      const before = plus(now, -throttleRetentionSeconds(policy));
      let purged = 0;
      for (let k = 0; k < PURGE_TRANSACTIONS; k += 1) {
        const deleted = await transact(context, (r) =>
          r.verificationThrottles.purge(before, THROTTLE_PURGE_BATCH),
        );
        purged += deleted;
        if (deleted < THROTTLE_PURGE_BATCH) break;
      }
      return purged;
    },
  };
  return throttle;
}

/** The error a refusal is reported as: 429 with `retryAfter` seconds, or 423. */
export function throttleError(refusal: ThrottleRefusal): AppError {
  return refusal.code === "authenticator.throttled"
    ? new AppError(refusal.code, undefined, { retryAfter: refusal.retryAfter })
    : new AppError(
        refusal.code,
        undefined,
        refusal.lockedUntil === undefined ? undefined : { lockedUntil: refusal.lockedUntil },
      );
}
