import { checkPolicy } from "../../core/input.js";
import { policyOverrides } from "../../core/overrides.js";
import type { TenantPolicy } from "../../core/policy.js";
import { toCanonicalTime } from "../../core/time.js";
import { authorize } from "../access/permissions.js";
import type { Application, Caller, Override, PolicyInput } from "../application.js";
import { recordAudit, requireRationale, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import { mandatesBinding } from "../mandates/active-mandates.js";
import type { Repositories } from "../ports.js";
import type { PolicyVersionRecord } from "../records.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";
import { diffDocuments } from "./diff-documents.js";

async function currentOf(r: Repositories, tenant: string): Promise<PolicyVersionRecord> {
  await requireTenant(r, tenant);
  const current = await r.policies.current(tenant);
  if (current === undefined) throw new AppError("not_found", "The tenant has no policy.");
  return current;
}

async function overridesOf(
  context: Context,
  r: Repositories,
  policy: TenantPolicy,
): Promise<Override[]> {
  const mandates = mandatesBinding(
    await r.mandates.listCurrent(),
    policy.tenant,
    context.clock.now().getTime(),
  );
  return policyOverrides(policy, mandates);
}

/**
 * The policy with its times in UTC (DESIGN: times in ISO 8601 UTC everywhere in the API and the
 * audit log), so that the version stored, answered and diffed in the audit log holds the same
 * text whatever offset the administrator wrote, or an earlier version held.
 */
function withUtcTimes(policy: TenantPolicy): TenantPolicy {
  if (policy.enforcementStartsAt === undefined) return policy;
  const enforcementStartsAt = toCanonicalTime(policy.enforcementStartsAt);
  if (enforcementStartsAt === undefined) {
    throw new AppError(
      "policy.invalid",
      "The policy is not valid: policy.enforcementStartsAt must fall within years 0000–9999 in UTC.",
    );
  }
  return { ...policy, enforcementStartsAt };
}

/**
 * Writes `policy` as the next version if `ifMatch` names the current one (optimistic
 * concurrency), with its audit event in the same transaction. A policy weaker than the mandates
 * is accepted; the overrides say which parts will not hold as written.
 */
async function writeVersion(
  context: Context,
  caller: Caller,
  tenant: string,
  input: {
    policy: PolicyInput;
    rationale: string;
    ifMatch: number | undefined;
    rollbackOf?: number;
  },
  type: "policy.replaced" | "policy.rolled_back",
): Promise<{ record: PolicyVersionRecord; overrides: readonly Override[] }> {
  requireRationale(input.rationale, "policy");
  if (input.ifMatch === undefined) throw new AppError("policy.precondition_required");
  return transact(context, async (r) => {
    const current = await currentOf(r, tenant);
    if (current.version !== input.ifMatch) {
      throw new AppError("policy.version_conflict", undefined, { currentVersion: current.version });
    }
    const version = current.version + 1;
    const written = { ...input.policy, tenant, version } as TenantPolicy;
    const problem = checkPolicy(written);
    if (problem !== undefined)
      throw new AppError("policy.invalid", `The policy is not valid: ${problem}.`);
    const policy = withUtcTimes(written);
    const record: PolicyVersionRecord = {
      tenant,
      version,
      policy,
      rationale: input.rationale,
      actor: caller.id,
      createdAt: context.clock.now().toISOString(),
      ...(input.rollbackOf === undefined ? {} : { rollbackOf: input.rollbackOf }),
    };
    if (!(await r.policies.insert(record))) {
      throw new AppError("policy.version_conflict", undefined, { currentVersion: version });
    }
    const overrides = await overridesOf(context, r, policy);
    await recordAudit(context, r, {
      tenant,
      type,
      actor: caller.id,
      payload: {
        version,
        previousVersion: current.version,
        rationale: input.rationale,
        diff: diffDocuments(current.policy, policy),
        ...(input.rollbackOf === undefined ? {} : { rollbackOf: input.rollbackOf }),
      },
    });
    return { record, overrides };
  }).then(async (result) => {
    await context.store.notify({ kind: "policy", tenant });
    return result;
  });
}

/** Tenant policies: read, replace with optimistic concurrency, history with diffs, rollback. */
export function policyUseCases(context: Context): Application["policies"] {
  return {
    async current(caller, tenant) {
      authorize(caller, "policy.read", tenant);
      return transact(context, async (r) => {
        const record = await currentOf(r, tenant);
        return { record, overrides: await overridesOf(context, r, record.policy) };
      });
    },
    async replace(caller, tenant, input) {
      authorize(caller, "policy.write", tenant);
      return writeVersion(context, caller, tenant, input, "policy.replaced");
    },
    async history(caller, tenant, page) {
      authorize(caller, "policy.read", tenant);
      const before = page.after === undefined ? undefined : Number(page.after);
      if (before !== undefined && !Number.isInteger(before)) {
        throw new AppError("request.invalid", "after must be a policy version.");
      }
      const limit = pageLimit(page.limit);
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        // One more than the page, to diff its oldest entry against its predecessor.
        const result = await r.policies.history(tenant, {
          ...(before === undefined ? {} : { before }),
          limit: limit + 1,
        });
        const items = result.items.slice(0, limit).map((record, index) => ({
          ...record,
          diff: diffDocuments(result.items[index + 1]?.policy ?? {}, record.policy),
        }));
        const last = items.at(-1);
        const more = result.items.length > limit || result.next !== undefined;
        return more && last !== undefined ? { items, next: String(last.version) } : { items };
      });
    },
    async rollback(caller, tenant, input) {
      authorize(caller, "policy.write", tenant);
      const target = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.policies.get(tenant, input.toVersion);
      });
      if (target === undefined)
        throw new AppError("not_found", `Policy version ${input.toVersion} does not exist.`);
      const { tenant: _t, version: _v, ...policy } = target.policy;
      return writeVersion(
        context,
        caller,
        tenant,
        { policy, rationale: input.rationale, ifMatch: input.ifMatch, rollbackOf: input.toVersion },
        "policy.rolled_back",
      );
    },
  };
}
