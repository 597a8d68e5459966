import { parseTime, toCanonicalTime } from "../../core/time.js";
import { EXEMPTION_CATEGORIES, isOneOf } from "../../core/vocabulary.js";
import { authorize } from "../access/permissions.js";
import type { AuditEntry } from "../audit/audit-chain.js";
import { partyOf } from "../api-keys/party-of.js";
import type { Application, Caller, ExemptionRequest } from "../application.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { ApiKeyRecord, ExemptionRecord } from "../records.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";

const DAY = 86_400_000;

/**
 * The longest break that still continues a run of exemptions: one that starts at most a day
 * after the run so far ends renews it. MFA must apply for more than a day between two runs.
 */
const RUN_BREAK = DAY;

function requiredTime(
  value: string | undefined,
  name: string,
  code: "request.invalid" | "exemption.expiry_required" = "request.invalid",
): number {
  const ms = parseTime(value);
  if (ms === undefined) throw new AppError(code, `${name} must be an ISO 8601 time.`);
  return ms;
}

/** An exemption's time in force, in epoch milliseconds: from `start` until before `end`. */
interface Window {
  readonly start: number;
  readonly end: number;
}

/**
 * Checks a request against the exemption rules: never for a shared login (seed 001), an expiry
 * that is mandatory and capped (tighter for break-glass), a start at most `maxLeadDays` ahead,
 * and a review date inside the window. Returns the requested window.
 */
function checkRequest(context: Context, input: ExemptionRequest): Window {
  if (input.category === "shared_login") throw new AppError("exemption.shared_login_refused");
  if (!isOneOf(EXEMPTION_CATEGORIES, input.category))
    throw new AppError("request.invalid", "category is unknown.");
  for (const field of ["justification", "owner"] as const) {
    if (typeof input[field] !== "string" || input[field].trim().length === 0) {
      throw new AppError("request.invalid", `${field} is required.`);
    }
  }
  if (input.expiresAt === undefined) throw new AppError("exemption.expiry_required");
  const startsAt = requiredTime(input.startsAt, "startsAt");
  const expiresAt = requiredTime(input.expiresAt, "expiresAt", "exemption.expiry_required");
  const reviewAt = requiredTime(input.reviewAt, "reviewAt");
  if (expiresAt <= startsAt)
    throw new AppError("request.invalid", "expiresAt must be after startsAt.");
  if (expiresAt <= context.clock.now().getTime())
    throw new AppError("request.invalid", "expiresAt is in the past.");
  if (reviewAt < startsAt || reviewAt > expiresAt) {
    throw new AppError("request.invalid", "reviewAt must lie between startsAt and expiresAt.");
  }
  const limits = context.settings.exemptions;
  const { maxLeadDays } = limits;
  if (startsAt > context.clock.now().getTime() + maxLeadDays * DAY) {
    throw new AppError(
      "exemption.starts_too_late",
      `An exemption starts at most ${maxLeadDays} days after it is requested.`,
      { maxLeadDays },
    );
  }
  const maxDays = input.category === "break_glass" ? limits.breakGlassMaxDays : limits.maxDays;
  if (expiresAt - startsAt > maxDays * DAY) {
    throw new AppError(
      "exemption.too_long",
      `A ${input.category} exemption lasts at most ${maxDays} days.`,
      { maxDays },
    );
  }
  return { start: startsAt, end: expiresAt };
}

/** Refuses a `renewalOf` that names no exemption of the same principal. */
async function checkRenewalOf(
  r: Repositories,
  tenant: string,
  renewalOf: string,
  principal: string,
): Promise<void> {
  const renewed = await r.exemptions.get(tenant, renewalOf);
  if (renewed === undefined || renewed.principal !== principal) {
    throw new AppError(
      "request.invalid",
      "renewalOf must name an exemption of the same principal.",
    );
  }
}

/** When an exemption was or will be in force: to its expiry, or to its revocation if earlier. */
function windowOf(
  record: Pick<ExemptionRecord, "status" | "startsAt" | "expiresAt" | "decidedAt">,
): Window {
  const start = Date.parse(record.startsAt);
  const end = Date.parse(record.expiresAt);
  if (record.status !== "revoked" || record.decidedAt === undefined) return { start, end };
  return { start, end: Math.min(end, Date.parse(record.decidedAt)) };
}

/**
 * Refuses `candidate` when it would make a run of the principal's exemptions longer than
 * `maxRenewals + 1`. A run is what `candidate` joins: the exemptions in force (see
 * `ExemptionStore.listInForce`, revoked ones up to their revocation) that overlap it or follow
 * one another with breaks of at most {@link RUN_BREAK}, in any category, whether or not they
 * name `renewalOf`, before or after it. The run's span grows until no further exemption
 * touches it; each round reads at most `maxRenewals + 1` rows, enough to know it is too long.
 */
async function checkRunLength(
  context: Context,
  r: Repositories,
  tenant: string,
  principal: string,
  candidate: Window,
): Promise<void> {
  const { maxRenewals } = context.settings.exemptions;
  const limit = maxRenewals + 1;
  let span = candidate;
  let found = 0;
  for (;;) {
    const others = await r.exemptions.listInForce(
      tenant,
      principal,
      {
        from: new Date(span.start - RUN_BREAK).toISOString(),
        to: new Date(span.end + RUN_BREAK).toISOString(),
      },
      limit,
    );
    if (others.length >= limit) {
      throw new AppError(
        "exemption.renewal_limit",
        `The principal would hold more than ${limit} exemptions in a row; MFA must apply ` +
          "for more than a day between runs.",
        { maxRenewals },
      );
    }
    if (others.length === found) return;
    found = others.length;
    for (const other of others) {
      const window = windowOf(other);
      span = { start: Math.min(span.start, window.start), end: Math.max(span.end, window.end) };
    }
  }
}

/**
 * Refuses approval when the tenant's approved exemptions overlapping what remains of
 * `candidate`'s window already number `maxActivePerTenant`: counting those active now alone
 * would let exemptions approved ahead all become active together.
 */
async function checkTenantLimit(
  context: Context,
  r: Repositories,
  tenant: string,
  candidate: Window,
): Promise<void> {
  const max = context.settings.exemptions.maxActivePerTenant;
  const from = Math.max(candidate.start, context.clock.now().getTime());
  const overlapping = await r.exemptions.countApprovedOverlapping(tenant, {
    from: new Date(from).toISOString(),
    to: new Date(candidate.end).toISOString(),
  });
  if (overlapping >= max) {
    throw new AppError("exemption.tenant_limit", undefined, { maxActivePerTenant: max });
  }
}

/**
 * What {@link partyOf} compares, also blind to white space and to invisible characters (a
 * zero-width space, a soft hyphen, a byte order mark), which NFKC keeps: a holder pasted once
 * with a trailing space or an invisible character is still the same person, who must not
 * approve their own request through the second key. Invisible means every format character
 * (Cf: Default_Ignorable_Code_Point leaves out some, such as the interlinear annotation
 * anchors and the Egyptian format controls) and the blank Braille pattern, a symbol that
 * shows nothing.
 */
const INVISIBLE = /[\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cf}\u2800]/gu;

function partyKey(caller: Pick<Caller, "id" | "holder">): string {
  return partyOf(caller).replace(INVISIBLE, "");
}

/**
 * Refuses to approve a request whose requester's key is revoked: revocation is how an
 * administrator answers a leaked or misused key, and what such a key filed may be its thief's (a
 * principal excused from MFA by an approver who trusted the request). A key that merely expired
 * is routine rotation, not a sign of compromise: its requests stay approvable. Keys are never
 * deleted, so a requester the store does not hold (a row removed or written outside the service)
 * cannot be shown to be unrevoked, and is refused too.
 */
function checkRequesterStanding(record: ExemptionRecord, key: ApiKeyRecord | undefined): void {
  if (key === undefined) {
    throw new AppError("exemption.requester_revoked", undefined, {
      requestedBy: record.requestedBy,
    });
  }
  if (key.revokedAt !== undefined) {
    throw new AppError("exemption.requester_revoked", undefined, {
      requestedBy: record.requestedBy,
      revokedAt: key.revokedAt,
    });
  }
}

/** What moves an exemption from one status to another. */
interface Transition {
  readonly to: ExemptionRecord["status"];
  readonly type: string;
  readonly reason?: string;
}

/** Moves an exemption from one status to another, with its audit event. */
async function transition(
  context: Context,
  caller: Caller,
  tenant: string,
  id: string,
  change: Transition & {
    from: readonly ExemptionRecord["status"][];
    check?: (record: ExemptionRecord, r: Repositories) => Promise<void>;
  },
): Promise<ExemptionRecord> {
  const record = await transact(context, async (r) => {
    const current = await r.exemptions.get(tenant, id);
    if (current === undefined) throw new AppError("not_found");
    if (!change.from.includes(current.status)) {
      throw new AppError("exemption.invalid_state", `The exemption is ${current.status}.`);
    }
    await change.check?.(current, r);
    const next = await decide(context, r, caller, current, change.to);
    if (next === undefined) {
      throw new AppError("exemption.invalid_state", "The exemption changed concurrently.");
    }
    await auditDecision(context, r, caller, next, change);
    return next;
  });
  await context.store.notify({ kind: "exemption", tenant });
  return record;
}

/**
 * Writes `current` moved to status `to`; undefined, writing nothing, when the row is no longer
 * in `current`'s status (another change committed since it was read).
 */
async function decide(
  context: Context,
  r: Repositories,
  caller: Caller,
  current: ExemptionRecord,
  to: ExemptionRecord["status"],
): Promise<ExemptionRecord | undefined> {
  const next: ExemptionRecord = {
    ...current,
    status: to,
    decidedBy: caller.id,
    decidedAt: context.clock.now().toISOString(),
    ...(to === "approved" ? { approvedBy: caller.id } : {}),
  };
  return (await r.exemptions.update(next, current.status)) ? next : undefined;
}

/** The audit entry of an exemption moved by `decide`. */
function decisionEntry(caller: Caller, record: ExemptionRecord, change: Transition): AuditEntry {
  return {
    tenant: record.tenant,
    type: change.type,
    actor: caller.id,
    payload: {
      id: record.id,
      principal: record.principal,
      category: record.category,
      expiresAt: record.expiresAt,
      ...(change.reason === undefined ? {} : { reason: change.reason }),
    },
  };
}

/** The audit event of an exemption moved by `decide`. */
async function auditDecision(
  context: Context,
  r: Repositories,
  caller: Caller,
  record: ExemptionRecord,
  change: Transition,
): Promise<void> {
  await recordAudit(context, r, decisionEntry(caller, record, change));
}

/**
 * What marking a principal as a shared login does to its exemptions (seed 001: none may cover
 * a shared login): every one requested or approved and not yet expired is revoked, in the
 * mark's transaction. An approval holds the principal's row (shared) before it writes, and the
 * mark holds it for update, so no approval commits between the mark and this sweep, and none
 * after it (it then finds the mark and refuses).
 *
 * `revokeRows` writes the rows and `audit` their `exemption.revoked` events, apart: the mark takes
 * the principal's row, then these exemptions' rows, and only then the tenant's audit head, the
 * order every path keeps (an administrator's revocation holding an exemption's row and waiting for
 * the head must never wait on a mark that holds the head and waits for that row). The rows go by
 * id, as `list` returns them: the order in which a batch of receipts holds the exemptions its
 * decisions used (receipt-writer.ts), so that neither waits for a row the other took out of turn.
 */
export const sharedLoginSweep = {
  reason: "The principal was marked as a shared login, which no exemption may cover (seed 001).",

  /** Revokes the principal's open exemptions; returns them as now stored. */
  async revokeRows(
    context: Context,
    r: Repositories,
    caller: Caller,
    tenant: string,
    principal: string,
  ): Promise<readonly ExemptionRecord[]> {
    const unexpiredAt = context.clock.now().toISOString();
    const revoked: ExemptionRecord[] = [];
    for (const status of ["approved", "requested"] as const) {
      let after: string | undefined;
      do {
        const page = await r.exemptions.list(
          tenant,
          { principal, status, unexpiredAt },
          { ...(after === undefined ? {} : { after }), limit: 100 },
        );
        for (const current of page.items) {
          // Not written: rejected or revoked by an administrator meanwhile, closed either way.
          const next = await decide(context, r, caller, current, "revoked");
          if (next !== undefined) revoked.push(next);
        }
        after = page.next;
      } while (after !== undefined);
    }
    if (revoked.length > 0) r.changes.announce({ kind: "exemption", tenant });
    return revoked;
  },

  /** The audit events of what `revokeRows` revoked. */
  async audit(
    context: Context,
    r: Repositories,
    caller: Caller,
    revoked: readonly ExemptionRecord[],
  ): Promise<void> {
    for (const record of revoked) {
      await auditDecision(context, r, caller, record, {
        to: "revoked",
        type: "exemption.revoked",
        reason: sharedLoginSweep.reason,
      });
    }
  },
};

/**
 * What revoking an API key does to the exemption requests it filed that still await a decision:
 * each is revoked in the key's revocation transaction, so that no request a thief may have filed
 * with a leaked key lingers looking approvable (an approval refuses it anyway:
 * `exemption.requester_revoked`, which also covers one filed while the revocation committed, after
 * this sweep read the key's requests). Approved exemptions stay: an approver decided on them
 * while the key stood, and revoking them is that approver's or an administrator's call.
 *
 * Every such request goes in the one transaction, a page of rows at a time, and their events are
 * appended after every row is written (`revokeRows`, then `entries` with the key's own event
 * through `recordAuditAcross`): the rows first and the chains' heads last, the order every path
 * keeps, so that an approval holding one of these rows and waiting for its tenant's head never
 * waits on this revocation. What it costs grows with the key's open requests, a handful for a
 * person's key; a thief's flood of requests makes one long transaction, which still ends with
 * none of them approvable.
 */
export const requesterRevocationSweep = {
  reason:
    "The API key that requested it was revoked: what a revoked key filed may be the work of whoever misused it.",

  /** Revokes every request of key `keyId` still awaiting a decision; returns them as now stored. */
  async revokeRows(
    context: Context,
    r: Repositories,
    caller: Caller,
    keyId: string,
  ): Promise<readonly ExemptionRecord[]> {
    const revoked: ExemptionRecord[] = [];
    let after: string | undefined;
    do {
      const page = await r.exemptions.listRequestedBy(keyId, {
        ...(after === undefined ? {} : { after }),
        limit: 100,
      });
      for (const current of page.items) {
        // Not written: approved, rejected or revoked meanwhile, decided either way.
        const next = await decide(context, r, caller, current, "revoked");
        if (next !== undefined) revoked.push(next);
      }
      after = page.next;
    } while (after !== undefined);
    for (const tenant of new Set(revoked.map((record) => record.tenant))) {
      r.changes.announce({ kind: "exemption", tenant });
    }
    return revoked;
  },

  /** The `exemption.revoked` entries of what `revokeRows` revoked, each in its tenant's chain. */
  entries(caller: Caller, revoked: readonly ExemptionRecord[]): readonly AuditEntry[] {
    return revoked.map((record) =>
      decisionEntry(caller, record, {
        to: "revoked",
        type: "exemption.revoked",
        reason: requesterRevocationSweep.reason,
      }),
    );
  },
};

/**
 * Exemptions: bounded, approved by someone other than the requester, never for shared logins,
 * starting soon, renewals capped so that none becomes permanent, and a cap on how many a tenant
 * holds. The run is checked on request, for an early answer, and both caps on approval, where
 * they hold: approvals of one tenant queue on its row, so each counts what the others committed.
 */
export function exemptionUseCases(context: Context): Application["exemptions"] {
  return {
    async request(caller, tenant, input) {
      authorize(caller, "exemption.request", tenant);
      const window = checkRequest(context, input);
      const record = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        // Held (shared) until the commit, as an approval holds it: a shared-login mark under way
        // is waited for and then refused, and one that starts now waits, then revokes this.
        const principal = await r.principals.holdShared(tenant, input.principal);
        if (principal === undefined) throw new AppError("principal.unknown");
        // Seed 001 names the login, not only the category: no reason excuses a shared one.
        if (principal.sharedLogin === true) throw new AppError("exemption.shared_login_refused");
        if (input.renewalOf !== undefined) {
          await checkRenewalOf(r, tenant, input.renewalOf, input.principal);
        }
        await checkRunLength(context, r, tenant, input.principal, window);
        const now = context.clock.now().toISOString();
        const exemption: ExemptionRecord = {
          id: context.random.id("exm"),
          tenant,
          principal: input.principal,
          category: input.category,
          status: "requested",
          justification: input.justification,
          owner: input.owner,
          startsAt: new Date(window.start).toISOString(),
          expiresAt: new Date(window.end).toISOString(),
          reviewAt: new Date(parseTime(input.reviewAt) ?? 0).toISOString(),
          requestedBy: caller.id,
          createdAt: now,
          ...(input.renewalOf === undefined ? {} : { renewalOf: input.renewalOf }),
        };
        await r.exemptions.insert(exemption);
        await recordAudit(context, r, {
          tenant,
          type: "exemption.requested",
          actor: caller.id,
          payload: {
            id: exemption.id,
            principal: exemption.principal,
            category: exemption.category,
            justification: exemption.justification,
            owner: exemption.owner,
            startsAt: exemption.startsAt,
            expiresAt: exemption.expiresAt,
            reviewAt: exemption.reviewAt,
            ...(exemption.renewalOf === undefined ? {} : { renewalOf: exemption.renewalOf }),
          },
        });
        return exemption;
      });
      return record;
    },
    async approve(caller, tenant, id) {
      authorize(caller, "exemption.decide", tenant);
      return transition(context, caller, tenant, id, {
        from: ["requested"],
        to: "approved",
        type: "exemption.approved",
        check: async (record, r) => {
          // The requester's key may be another key of the same holder: one party still.
          const key = await r.apiKeys.get(record.requestedBy);
          const requester = key ?? { id: record.requestedBy };
          if (record.requestedBy === caller.id || partyKey(requester) === partyKey(caller)) {
            throw new AppError("exemption.self_approval");
          }
          checkRequesterStanding(record, key);
          const window = windowOf(record);
          if (window.end <= context.clock.now().getTime()) {
            throw new AppError("exemption.expired", undefined, { expiresAt: record.expiresAt });
          }
          if (!(await r.tenants.lock(tenant))) throw new AppError("not_found");
          // Marked as shared since it was requested: the engine would refuse it anyway. The row
          // is held (shared) until the commit: on PostgreSQL a mark committed after a plain read
          // would be missed, and an approval given to a shared login (seed 001). A mark under way
          // is waited for, then seen; one that starts now waits for the approval.
          // No wait can close a cycle: this takes the tenant's row, the principal's row (shared),
          // the exemption's row, then the tenant's audit head. A principal's update takes the
          // principal's row before anything else, then (a mark as a shared login) the rows of
          // the principal's open exemptions, then the audit head, which every path takes last;
          // it touches no tenant row.
          if ((await r.principals.holdShared(tenant, record.principal))?.sharedLogin === true) {
            throw new AppError("exemption.shared_login_refused");
          }
          await checkRunLength(context, r, tenant, record.principal, window);
          await checkTenantLimit(context, r, tenant, window);
        },
      });
    },
    async reject(caller, tenant, id, input) {
      authorize(caller, "exemption.decide", tenant);
      return transition(context, caller, tenant, id, {
        from: ["requested"],
        to: "rejected",
        type: "exemption.rejected",
        reason: input.reason,
      });
    },
    async revoke(caller, tenant, id, input) {
      authorize(caller, "exemption.revoke", tenant);
      return transition(context, caller, tenant, id, {
        from: ["requested", "approved"],
        to: "revoked",
        type: "exemption.revoked",
        reason: input.reason,
      });
    },
    async get(caller, tenant, id) {
      authorize(caller, "exemption.read", tenant);
      const record = await transact(context, (r) => r.exemptions.get(tenant, id));
      if (record === undefined) throw new AppError("not_found");
      return record;
    },
    async list(caller, tenant, filter, page) {
      authorize(caller, "exemption.read", tenant);
      // Stored times compare as UTC text: an instant is brought to that form, and one it cannot
      // take (past year 9999 in UTC) would compare as garbage, so it is refused.
      const activeAt = filter.activeAt === undefined ? undefined : toCanonicalTime(filter.activeAt);
      if (filter.activeAt !== undefined && activeAt === undefined) {
        throw new AppError(
          "request.invalid",
          "activeAt must be an ISO 8601 time within years 0000–9999 in UTC.",
        );
      }
      const canonical = activeAt === undefined ? filter : { ...filter, activeAt };
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.exemptions.list(tenant, canonical, {
          ...(page.after === undefined ? {} : { after: page.after }),
          limit: pageLimit(page.limit),
        });
      });
    },
  };
}
