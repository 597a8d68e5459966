import type { AuditEntry } from "./audit/audit-chain.js";
import { linkEvent, chainOf } from "./audit/audit-chain.js";
import { unreadableRecordError } from "./damaged-records.js";
import { AppError } from "./errors.js";
import {
  UnreadableRecord,
  type Clock,
  type Random,
  type Repositories,
  type Store,
} from "./ports.js";
import type { AuditEvent } from "./records.js";

/** Limits the platform sets on exemptions. */
export interface ExemptionLimits {
  readonly maxDays: number;
  readonly breakGlassMaxDays: number;
  /**
   * How many renewals a run of a principal's exemptions may hold: at most `maxRenewals + 1`
   * exemptions in a row (back to back or overlapping, any category, `renewalOf` or not).
   */
  readonly maxRenewals: number;
  /** How many of a tenant's approved exemptions may overlap any one exemption's window. */
  readonly maxActivePerTenant: number;
  /**
   * How many days after its request an exemption may start at the latest, so that nobody
   * approves months of exemptions ahead.
   */
  readonly maxLeadDays: number;
}

/** How the decision API treats the platform's MFA evidence. */
export interface DecisionSettings {
  /**
   * Refuse a TOTP, WebAuthn or recovery-code event that names no verification of tenant-mfa's
   * own (`verification`): the platform's backend then cannot assert an MFA step that tenant-mfa
   * did not see. Off by default, for backends that verify those methods themselves.
   */
  readonly requireVerifiedEvidence: boolean;
}

/** How the platform's TOTP authenticators are enrolled. */
export interface TotpSettings {
  /**
   * How long after it began a pending enrolment may be confirmed. Its secret was shown when it
   * began (a QR code photographed, a screenshot kept): left pending for good, it would let
   * whoever later holds the password and that secret bind a second factor of their own without
   * the fresh MFA a new enrolment needs. Bounded as a WebAuthn ceremony is.
   */
  readonly enrolmentTtlSeconds: number;
}

/** The application's settings. */
export interface AppSettings {
  readonly exemptions: ExemptionLimits;
  /** Default: {@link DEFAULT_DECISION_SETTINGS}. */
  readonly decisions?: DecisionSettings;
  /** Default: {@link DEFAULT_TOTP_SETTINGS}. */
  readonly totp?: TotpSettings;
}

/** Platform MFA events may name their verification; none is required to. */
export const DEFAULT_DECISION_SETTINGS: DecisionSettings = Object.freeze({
  requireVerifiedEvidence: false,
});

/** A pending TOTP enrolment may be confirmed for 10 minutes. */
export const DEFAULT_TOTP_SETTINGS: TotpSettings = Object.freeze({
  enrolmentTtlSeconds: 600,
});

/**
 * Default limits: exemptions up to 90 days, break-glass 7, two renewals, 100 active per tenant,
 * starting within 30 days.
 */
export const DEFAULT_SETTINGS: AppSettings = Object.freeze({
  exemptions: Object.freeze({
    maxDays: 90,
    breakGlassMaxDays: 7,
    maxRenewals: 2,
    maxActivePerTenant: 100,
    maxLeadDays: 30,
  }),
  decisions: DEFAULT_DECISION_SETTINGS,
  totp: DEFAULT_TOTP_SETTINGS,
});

/** What every use case works with. */
export interface Context {
  readonly store: Store;
  readonly clock: Clock;
  readonly random: Random;
  readonly settings: AppSettings;
}

/**
 * Runs `work` in one store transaction. An expected failure passes through; a record the store
 * read back as text it never wrote (altered outside the service) is named as such
 * (`store.record_damaged` for a row: see {@link unreadableRecordError}); anything else the store
 * throws means it cannot be relied on, reported as `store.unavailable`.
 */
export async function transact<T>(
  context: Context,
  work: (repositories: Repositories) => Promise<T>,
): Promise<T> {
  try {
    return await context.store.transaction(work);
  } catch (error) {
    throw storeFailure(error);
  }
}

/**
 * Runs `work` over the store's repositories for reading, without a write transaction (see
 * `Store.read`). Failures are reported as {@link transact} reports them.
 */
export async function readStore<T>(
  context: Context,
  work: (repositories: Repositories) => Promise<T>,
): Promise<T> {
  try {
    return await context.store.read(work);
  } catch (error) {
    throw storeFailure(error);
  }
}

/** What {@link transact} and {@link readStore} report of `error`, thrown by the store or `work`. */
function storeFailure(error: unknown): AppError {
  if (error instanceof AppError) return error;
  // Not an outage: retrying will not help, and the operator must look at the record, not the
  // network. Answering with "try again" would have clients retry forever.
  if (error instanceof UnreadableRecord) return unreadableRecordError(error);
  return new AppError("store.unavailable", undefined, {
    cause: error instanceof Error ? error.message : String(error),
  });
}

/** Appends an audit event to its chain inside the current transaction (DESIGN invariant 4). */
export function recordAudit(
  context: Context,
  repositories: Repositories,
  entry: AuditEntry,
): Promise<AuditEvent> {
  return repositories.audit.append(chainOf(entry.tenant), auditLink(context, entry));
}

/**
 * Appends entries of one chain, in order, with one store call (`audit.appendMany`):
 * each event is timed and named as {@link recordAudit} would, so the chain is the one that
 * recording them one by one would leave. An entry of another chain is refused by the store.
 */
export async function recordAuditRun(
  context: Context,
  repositories: Repositories,
  entries: readonly AuditEntry[],
): Promise<readonly AuditEvent[]> {
  const [first] = entries;
  if (first === undefined) return [];
  return repositories.audit.appendMany(
    chainOf(first.tenant),
    entries.map((entry) => auditLink(context, entry)),
  );
}

/**
 * Appends entries of any chains with one store call (`audit.appendToChains`), each chain's in
 * the order given: the chains are those that recording them one by one would leave, and what it
 * costs the store does not grow with the number of chains (many tenants' events at once).
 */
export async function recordAuditAcross(
  context: Context,
  repositories: Repositories,
  entries: readonly AuditEntry[],
): Promise<readonly AuditEvent[]> {
  const runs = new Map<string, AuditLink[]>();
  for (const entry of entries) {
    const chain = chainOf(entry.tenant);
    const run = runs.get(chain) ?? [];
    run.push(auditLink(context, entry));
    runs.set(chain, run);
  }
  return repositories.audit.appendToChains([...runs].map(([chain, links]) => ({ chain, links })));
}

type AuditLink = (head: { seq: number; hash: string } | undefined) => AuditEvent;

/** The link of `entry`, timed and named now, as {@link recordAudit} times and names one. */
function auditLink(context: Context, entry: AuditEntry): AuditLink {
  const at = context.clock.now().toISOString();
  return (head) => linkEvent(entry, head, entry.id ?? context.random.id("evt"), at);
}

/** Every policy and mandate change says why; a blank rationale is refused. */
export function requireRationale(rationale: string, what: "policy" | "mandate"): void {
  if (typeof rationale !== "string" || rationale.trim().length === 0) {
    throw new AppError("request.invalid", `Every ${what} change needs a rationale.`);
  }
}
