import { parseTime } from "../../core/time.js";
import { EXEMPTION_CATEGORIES, isOneOf } from "../../core/vocabulary.js";
import { authorize } from "../access/permissions.js";
import type { Application, Caller, ExemptionRequest } from "../application.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { ExemptionRecord } from "../records.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";

const DAY = 86_400_000;

function requiredTime(
  value: string | undefined,
  name: string,
  code: "request.invalid" | "exemption.expiry_required" = "request.invalid",
): number {
  const ms = parseTime(value);
  if (ms === undefined) throw new AppError(code, `${name} must be an ISO 8601 time.`);
  return ms;
}

/**
 * Checks a request against the exemption rules: never for a shared login (seed 001), an expiry
 * that is mandatory and capped (tighter for break-glass), a review date inside the window, and
 * a registered principal.
 */
function checkRequest(context: Context, input: ExemptionRequest): void {
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
  const maxDays = input.category === "break_glass" ? limits.breakGlassMaxDays : limits.maxDays;
  if (expiresAt - startsAt > maxDays * DAY) {
    throw new AppError(
      "exemption.too_long",
      `A ${input.category} exemption lasts at most ${maxDays} days.`,
      { maxDays },
    );
  }
}

/** How many renewals precede `id` in its chain of renewals. */
async function renewalDepth(
  r: Repositories,
  tenant: string,
  id: string,
  principal: string,
): Promise<number> {
  let depth = 0;
  let current = await r.exemptions.get(tenant, id);
  if (current === undefined || current.principal !== principal) {
    throw new AppError(
      "request.invalid",
      "renewalOf must name an exemption of the same principal.",
    );
  }
  while (current?.renewalOf !== undefined) {
    depth += 1;
    current = await r.exemptions.get(tenant, current.renewalOf);
  }
  return depth + 1;
}

async function countActive(
  r: Repositories,
  tenant: string,
  at: string,
  limit: number,
): Promise<number> {
  const page = await r.exemptions.list(tenant, { activeAt: at }, { limit: limit + 1 });
  return page.items.length;
}

/** Moves an exemption from one status to another, with its audit event. */
async function transition(
  context: Context,
  caller: Caller,
  tenant: string,
  id: string,
  change: {
    from: readonly ExemptionRecord["status"][];
    to: ExemptionRecord["status"];
    type: string;
    reason?: string;
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
    const next: ExemptionRecord = {
      ...current,
      status: change.to,
      decidedBy: caller.id,
      decidedAt: context.clock.now().toISOString(),
      ...(change.to === "approved" ? { approvedBy: caller.id } : {}),
    };
    if (!(await r.exemptions.update(next, current.status))) {
      throw new AppError("exemption.invalid_state", "The exemption changed concurrently.");
    }
    await recordAudit(context, r, {
      tenant,
      type: change.type,
      actor: caller.id,
      payload: {
        id,
        principal: current.principal,
        category: current.category,
        expiresAt: current.expiresAt,
        ...(change.reason === undefined ? {} : { reason: change.reason }),
      },
    });
    return next;
  });
  await context.store.notify({ kind: "exemption", tenant });
  return record;
}

/**
 * Exemptions: bounded, approved by someone other than the requester, never for shared logins,
 * renewals capped so that none becomes permanent, and a cap on how many a tenant holds.
 */
export function exemptionUseCases(context: Context): Application["exemptions"] {
  return {
    async request(caller, tenant, input) {
      authorize(caller, "exemption.request", tenant);
      checkRequest(context, input);
      const record = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        if ((await r.principals.get(tenant, input.principal)) === undefined) {
          throw new AppError("principal.unknown");
        }
        if (input.renewalOf !== undefined) {
          const depth = await renewalDepth(r, tenant, input.renewalOf, input.principal);
          if (depth > context.settings.exemptions.maxRenewals) {
            throw new AppError("exemption.renewal_limit", undefined, {
              maxRenewals: context.settings.exemptions.maxRenewals,
            });
          }
        }
        const now = context.clock.now().toISOString();
        const exemption: ExemptionRecord = {
          id: context.random.id("exm"),
          tenant,
          principal: input.principal,
          category: input.category,
          status: "requested",
          justification: input.justification,
          owner: input.owner,
          startsAt: new Date(parseTime(input.startsAt) ?? 0).toISOString(),
          expiresAt: new Date(parseTime(input.expiresAt) ?? 0).toISOString(),
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
          if (record.requestedBy === caller.id) throw new AppError("exemption.self_approval");
          const max = context.settings.exemptions.maxActivePerTenant;
          if ((await countActive(r, tenant, context.clock.now().toISOString(), max)) >= max) {
            throw new AppError("exemption.tenant_limit", undefined, { maxActivePerTenant: max });
          }
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
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.exemptions.list(tenant, filter, {
          ...(page.after === undefined ? {} : { after: page.after }),
          limit: pageLimit(page.limit),
        });
      });
    },
  };
}
