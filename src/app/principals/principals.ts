import { POPULATIONS, isOneOf } from "../../core/vocabulary.js";
import { authorize } from "../access/permissions.js";
import type { Application } from "../application.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { PrincipalRecord } from "../records.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";

/** Principals: registered and updated by tenant administrators, read by the tenant's roles. */
export function principalUseCases(context: Context): Application["principals"] {
  return {
    async upsert(caller, tenant, id, input) {
      authorize(caller, "principal.write", tenant);
      if (!isOneOf(POPULATIONS, input.population))
        throw new AppError("request.invalid", "population is unknown.");
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        const existing = await r.principals.get(tenant, id);
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
