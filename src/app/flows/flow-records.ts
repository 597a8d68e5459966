import { createHash, timingSafeEqual } from "node:crypto";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { FlowRecord } from "../records.js";

/** SHA-256, hex: how browser cookies and one-time codes are stored and looked up. */
export const sha256 = (value: string): string => createHash("sha256").update(value).digest("hex");

/** Compares two secrets in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The URL of a flow's page. */
export const flowUrl = (publicUrl: string, tenant: string, flow: string): string =>
  `${publicUrl.replace(/\/$/, "")}/t/${encodeURIComponent(tenant)}/flows/${encodeURIComponent(flow)}`;

/** How often a change lost to a concurrent one is tried again before giving up. */
const ATTEMPTS = 5;

/**
 * Applies `change` to the flow by compare-and-set, reading it again and retrying when another
 * request moved it first. `change` returns the new record (version unchanged: this adds one), or
 * undefined to leave the flow as it is; `audit` entries, and whatever `alongside` writes, commit
 * with the change, and only if the change is made.
 */
export async function changeFlow(
  context: Context,
  tenant: string,
  id: string,
  change: (flow: FlowRecord) => FlowRecord | undefined,
  audit?: (flow: FlowRecord) => { type: string; payload: Record<string, unknown> } | undefined,
  alongside?: (r: Repositories) => Promise<void>,
): Promise<FlowRecord | undefined> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const outcome = await transact(context, async (r) => {
      const current = await r.flows.get(tenant, id);
      if (current === undefined) return { done: true as const, flow: undefined };
      const next = change(current);
      if (next === undefined) return { done: true as const, flow: current };
      const updated: FlowRecord = {
        ...next,
        version: current.version + 1,
        updatedAt: context.clock.now().toISOString(),
      };
      if (!(await r.flows.update(updated))) return { done: false as const };
      await alongside?.(r);
      const entry = audit?.(updated);
      if (entry !== undefined) await auditFlow(context, r, updated, entry.type, entry.payload);
      return { done: true as const, flow: updated };
    });
    if (outcome.done) return outcome.flow;
  }
  throw new AppError("store.unavailable", "The flow kept changing under this request.");
}

/** Appends a flow event to the tenant's audit chain, in the caller's transaction. */
export function auditFlow(
  context: Context,
  r: Repositories,
  flow: Pick<FlowRecord, "tenant" | "id" | "principal">,
  type: string,
  payload: Record<string, unknown> = {},
): Promise<unknown> {
  return recordAudit(context, r, {
    tenant: flow.tenant,
    type,
    actor: `flow:${flow.id}`,
    payload: { flow: flow.id, principal: flow.principal, ...payload },
  });
}

/**
 * Adds an event that a verifier produced to a pending, unexpired flow, audited as
 * `flow.verified`: `added`, or `closed` when the flow can take no more evidence, or `withdrawn`
 * when the principal's proofs were withdrawn since `withdrawalsSeen` (the flow's count when the
 * verification began), so that a proof revoked while it was being checked counts for nothing.
 */
export async function addFlowEvent(
  context: Context,
  tenant: string,
  id: string,
  event: AuthenticationEvent,
  withdrawalsSeen?: number,
): Promise<"added" | "closed" | "withdrawn"> {
  const now = context.clock.now().toISOString();
  let outcome: "added" | "closed" | "withdrawn" = "closed";
  await changeFlow(
    context,
    tenant,
    id,
    (flow) => {
      if (flow.status !== "pending" || flow.expiresAt <= now) outcome = "closed";
      else if (withdrawalsSeen !== undefined && (flow.withdrawals ?? 0) !== withdrawalsSeen) {
        outcome = "withdrawn";
      } else outcome = "added";
      if (outcome !== "added") return undefined;
      return { ...flow, events: [...flow.events, event] };
    },
    () => ({
      type: "flow.verified",
      payload: {
        method: event.method,
        at: event.at,
        ...(event.method === "federated" ? { idp: event.idp } : {}),
      },
    }),
  );
  return outcome;
}
