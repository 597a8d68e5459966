import { authorize } from "../access/permissions.js";
import type { Application, AuditVerification } from "../application.js";
import { transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";
import { chainOf, checkLink } from "./audit-chain.js";

const VERIFY_BATCH = 1000;

/** Reading and verifying the audit chains. */
export function auditUseCases(context: Context): Application["audit"] {
  return {
    async list(caller, tenant, filter, page) {
      authorize(caller, "audit.read", tenant);
      const afterSeq = page.after === undefined ? 0 : Number(page.after);
      if (!Number.isInteger(afterSeq) || afterSeq < 0) {
        throw new AppError("request.invalid", "after must be an audit sequence number.");
      }
      const limit = pageLimit(page.limit);
      const items = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.audit.read(chainOf(tenant), { afterSeq, limit, filter });
      });
      const last = items.at(-1);
      return items.length === limit && last !== undefined
        ? { items, next: String(last.seq) }
        : { items };
    },

    async verify(caller, scope, onProgress): Promise<AuditVerification> {
      if (scope.tenant === undefined) authorize(caller, "audit.verify_all");
      else authorize(caller, "audit.read", scope.tenant);
      const { tenant } = scope;
      // An unknown tenant has no chain to verify: "verified" would tell an auditor's typo it is fine.
      const chains =
        tenant === undefined
          ? await transact(context, (r) => r.audit.chains())
          : await transact(context, async (r) => {
              await requireTenant(r, tenant);
              return [chainOf(tenant)];
            });
      let events = 0;
      for (const chain of chains) {
        let previous: { seq: number; hash: string } | undefined;
        for (;;) {
          const batch = await transact(context, (r) =>
            r.audit.read(chain, { afterSeq: previous?.seq ?? 0, limit: VERIFY_BATCH }),
          );
          for (const event of batch) {
            const problem = checkLink(event, previous);
            if (problem !== undefined) {
              return {
                ok: false,
                chains: chains.length,
                events,
                broken: { chain, seq: event.seq, problem },
              };
            }
            previous = { seq: event.seq, hash: event.hash };
            events += 1;
          }
          onProgress?.(events);
          if (batch.length < VERIFY_BATCH) break;
        }
        // Deleting the newest events leaves a chain that links up: the recorded head tells.
        const head = await transact(context, (r) => r.audit.head(chain));
        if (
          head !== undefined &&
          (head.seq !== (previous?.seq ?? 0) || head.hash !== previous?.hash)
        ) {
          return {
            ok: false,
            chains: chains.length,
            events,
            broken: { chain, seq: head.seq, problem: "truncated" },
          };
        }
      }
      return { ok: true, chains: chains.length, events };
    },
  };
}
