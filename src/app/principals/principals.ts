import { unexemptibleMandatesFor } from "../../core/mandate-scope.js";
import { POPULATIONS, isOneOf } from "../../core/vocabulary.js";
import { authorize } from "../access/permissions.js";
import type { Application, Caller } from "../application.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { PrincipalRecord } from "../records.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";

/**
 * Principals: registered and updated by tenant administrators, read by the tenant's roles. Only
 * a platform administrator makes a guest of someone a mandate binds without exemption.
 */
export function principalUseCases(context: Context): Application["principals"] {
  return {
    async upsert(caller, tenant, id, input) {
      authorize(caller, "principal.write", tenant);
      if (!isOneOf(POPULATIONS, input.population))
        throw new AppError("request.invalid", "population is unknown.");
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        const existing = await r.principals.get(tenant, id);
        if (existing !== undefined && input.population === "guest")
          await refuseEscapeFromMandates(r, caller, existing, context.clock.now());
        const now = context.clock.now().toISOString();
        const record: PrincipalRecord = {
          tenant,
          id,
          population: input.population,
          ...(input.externalId === undefined ? {} : { externalId: input.externalId }),
          ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
        };
        await r.principals.upsert(record);
        await recordAudit(context, r, {
          tenant,
          type: existing === undefined ? "principal.registered" : "principal.updated",
          actor: caller.id,
          payload: {
            id,
            population: record.population,
            previousPopulation: existing?.population ?? null,
          },
        });
        r.changes.announce({ kind: "principal", tenant });
        return record;
      });
    },
    async get(caller, tenant, id) {
      authorize(caller, "principal.read", tenant);
      const record = await transact(context, (r) => r.principals.get(tenant, id));
      if (record === undefined) throw new AppError("not_found");
      return record;
    },
    async list(caller, tenant, page) {
      authorize(caller, "principal.read", tenant);
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.principals.list(tenant, {
          ...(page.after === undefined ? {} : { after: page.after }),
          limit: pageLimit(page.limit),
        });
      });
    },
  };
}

/**
 * A guest is out of every MFA rule, mandates included. Under a mandate that cannot be exempted,
 * making one of the people it binds a guest would excuse them forever, without an approver or an
 * expiry: only a platform administrator may, and the audit event names who did.
 */
async function refuseEscapeFromMandates(
  r: Repositories,
  caller: Caller,
  existing: PrincipalRecord,
  now: Date,
): Promise<void> {
  if (existing.population === "guest" || caller.roles.includes("platform_admin")) return;
  const mandates = (await r.mandates.listCurrent())
    .filter((m) => m.status === "active")
    .map((m) => m.mandate);
  const [binding] = unexemptibleMandatesFor(
    mandates,
    existing.tenant,
    existing.population,
    now.getTime(),
  );
  if (binding !== undefined) {
    throw new AppError(
      "principal.guest_refused",
      `Mandate ${binding.id} cannot be exempted and binds this principal: only a platform administrator can make it a guest.`,
    );
  }
}
