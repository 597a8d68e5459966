import { authorize } from "../access/permissions.js";
import type { Application, AuditVerification } from "../application.js";
import { transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";
import { chainOf, checkFirstEvent, checkLink } from "./audit-chain.js";
import type { AuditCheckpoints } from "./audit-checkpoints.js";

const VERIFY_BATCH = 1000;
const TENANT_PAGE = 500;

type AuditProblem = NonNullable<AuditVerification["broken"]>["problem"];

/**
 * Every chain to verify, in order: each one with a recorded head, each one holding events, and
 * the chain of every tenant, recorded or not. No one source suffices against someone who can
 * write to the database: a tenant's row and its head row deleted together leave its events, and
 * only they still name the chain.
 */
async function listChains(context: Context): Promise<readonly string[]> {
  const [headed, withEvents] = await transact(context, (r) =>
    Promise.all([r.audit.chains(), r.audit.chainsWithEvents()]),
  );
  const chains = new Set([...headed, ...withEvents]);
  let after: string | undefined;
  do {
    const page = await transact(context, (r) =>
      r.tenants.list({ ...(after === undefined ? {} : { after }), limit: TENANT_PAGE }),
    );
    for (const record of page.items) chains.add(chainOf(record.id));
    after = page.next;
  } while (after !== undefined);
  return [...chains].sort();
}

/** Reading and verifying the audit chains, and signing checkpoints of them. */
export function auditUseCases(
  context: Context,
  checkpoints: AuditCheckpoints,
): Application["audit"] {
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
      // Every tenant has a chain (its creation is its first event): one with none is listed too.
      const chains =
        tenant === undefined
          ? await listChains(context)
          : await transact(context, async (r) => {
              await requireTenant(r, tenant);
              return [chainOf(tenant)];
            });
      const checkpoint =
        scope.checkpoint === undefined
          ? undefined
          : await checkpoints.open(scope.checkpoint, chains);
      let events = 0;
      const broken = (chain: string, seq: number, problem: AuditProblem): AuditVerification => ({
        ok: false,
        chains: chains.length,
        events,
        broken: { chain, seq, problem },
      });
      for (const chain of chains) {
        let previous: { seq: number; hash: string } | undefined;
        const readOn = async (limit: number) => {
          const batch = await transact(context, (r) =>
            r.audit.read(chain, { afterSeq: previous?.seq ?? 0, limit }),
          );
          for (const event of batch) {
            const problem = checkLink(event, previous) ?? checkFirstEvent(event);
            if (problem !== undefined) return { problem, seq: event.seq };
            if (
              checkpoint?.chain === chain &&
              checkpoint.seq === event.seq &&
              checkpoint.hash !== event.hash
            ) {
              return { problem: "checkpoint_mismatch" as const, seq: event.seq };
            }
            previous = { seq: event.seq, hash: event.hash };
            events += 1;
          }
          onProgress?.(events);
          return batch.length;
        };
        // Every event stored, to its end: an event written past the head (a forged one) is seen.
        for (;;) {
          const read = await readOn(VERIFY_BATCH);
          if (typeof read !== "number") return broken(chain, read.seq, read.problem);
          if (read < VERIFY_BATCH) break;
        }
        // The head, read after every event seen, is at least as far on as they are: an event is
        // appended with its head in one transaction. Events appended since the last read are read
        // up to that head, so a chain growing on a live server is not taken for a truncated one.
        const head = await transact(context, (r) => r.audit.head(chain));
        // Every chain verified has a head: a chain with events got it with its first one, and a
        // tenant's is created with the tenant. None left means the chain (or its anchor) was
        // deleted, the tenant's row with it or not.
        if (head === undefined) return broken(chain, 0, "missing");
        while ((previous?.seq ?? 0) < head.seq) {
          const read = await readOn(Math.min(VERIFY_BATCH, head.seq - (previous?.seq ?? 0)));
          if (typeof read !== "number") return broken(chain, read.seq, read.problem);
          if (read === 0) break;
        }
        // Deleting the newest events leaves a chain that links up, and a forged event past the
        // head links up too: the recorded head tells.
        if (head.seq !== (previous?.seq ?? 0) || head.hash !== previous?.hash) {
          return broken(chain, head.seq, "truncated");
        }
        // A chain that ends before the checkpoint's event lost it, head and all.
        if (checkpoint?.chain === chain && head.seq < checkpoint.seq) {
          return broken(chain, checkpoint.seq, "checkpoint_mismatch");
        }
      }
      return {
        ok: true,
        chains: chains.length,
        events,
        ...(checkpoint === undefined
          ? {}
          : { checkpoint: { chain: checkpoint.chain, seq: checkpoint.seq } }),
      };
    },

    async checkpoint(caller, scope) {
      const { tenant } = scope;
      if (tenant === undefined) {
        authorize(caller, "audit.verify_all");
        return checkpoints.sign(chainOf(null));
      }
      authorize(caller, "audit.read", tenant);
      await transact(context, (r) => requireTenant(r, tenant));
      return checkpoints.sign(chainOf(tenant));
    },
  };
}
