import { createHash, timingSafeEqual } from "node:crypto";
import type { AuthenticationEvent, FederatedEvent } from "../../core/evidence.js";
import { readStore, recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import { boundToAnotherIdp, IDP_NOT_BOUND } from "../federation/idp-binding.js";
import {
  EXCHANGE_REFUSED,
  type FlowRecord,
  type FlowRefusal,
  type FlowRefusalKind,
  type IdpRecord,
} from "../records.js";
import { OPENING_PARAMETER } from "./flow-screens.js";

/** An IdP's answer held on a flow for its browser to claim. */
type HeldIdpAnswer = NonNullable<FlowRecord["idpAnswer"]>;

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

/** The URL the platform sends the user's browser to: the flow's page, with its opening secret. */
export const openingUrl = (
  publicUrl: string,
  flow: Pick<FlowRecord, "tenant" | "id">,
  opening: string,
): string =>
  `${flowUrl(publicUrl, flow.tenant, flow.id)}?${OPENING_PARAMETER}=${encodeURIComponent(opening)}`;

/**
 * Whether `opening` is the flow's opening secret. A flow created before the secret was kept has
 * none, and opens by its id alone, as it did then (flows live an hour at most).
 */
export function opensWith(flow: Pick<FlowRecord, "openingHash">, opening?: string): boolean {
  if (flow.openingHash === undefined) return true;
  return opening !== undefined && sameSecret(flow.openingHash, sha256(opening));
}

/** How often a change lost to a concurrent one is tried again before giving up. */
const ATTEMPTS = 5;

/**
 * Applies `change` to the flow by compare-and-set, reading it again and retrying when another
 * request moved it first. `change` returns the new record (version unchanged: this adds one), or
 * undefined to leave the flow as it is; it may read more through the transaction's repositories,
 * never write. `audit` entries, and whatever `alongside` writes, commit with the change, and only
 * if the change is made.
 */
export async function changeFlow(
  context: Context,
  tenant: string,
  id: string,
  change: (
    flow: FlowRecord,
    r: Repositories,
  ) => FlowRecord | undefined | Promise<FlowRecord | undefined>,
  audit?: (flow: FlowRecord) => { type: string; payload: Record<string, unknown> } | undefined,
  alongside?: (r: Repositories) => Promise<void>,
): Promise<FlowRecord | undefined> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const outcome = await transact(context, async (r) => {
      const current = await r.flows.get(tenant, id);
      if (current === undefined) return { done: true as const, flow: undefined };
      const next = await change(current, r);
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

/** How long after a refusal of one kind is audited for a flow the next of its kind is. */
export const REFUSAL_AUDIT_INTERVAL_SECONDS = 60;

/**
 * A refusal to audit: a refused visit of a flow (its audit event's type), a refused exchange of
 * its code, with the reason and the caller that its audit event names, or a sign-in at one of the
 * tenant's IdPs that the flow refused to start, audited as a refused start is
 * (`federation.rejected`, with the IdP, its protocol, the reason and the detail). Only an IdP the
 * tenant registers (or did, when the flow judged it) is named: the kinds stay as few as those.
 */
export type AuditedRefusal =
  | FlowRefusal
  | { readonly type: typeof EXCHANGE_REFUSED; readonly reason: string; readonly caller: string }
  | {
      readonly type: "federation.rejected";
      readonly idp: Pick<IdpRecord, "id" | "protocol">;
      readonly reason: string;
      readonly detail: string;
    };

/**
 * Audits a refusal on `flow`, unless one of its kind was audited for the flow within
 * {@link REFUSAL_AUDIT_INTERVAL_SECONDS}: anyone holding a flow's id (or a code, spent or another
 * client's) makes refusals, and every one would append to the tenant's chain for the flow's whole
 * life, bounded only by the per-address or per-key rate limit, which many together escape. The
 * first of each kind is always recorded, and a row a minute while they go on, so the chain shows
 * when an attack began and how long it lasted (at most 60 rows of each kind in a flow's hour);
 * the request log has every one. A refused visit's kind is its type; a refused exchange's, its
 * reason and its caller; a refused start at an IdP's, the IdP and the reason. When it was last audited is kept on the flow by compare-and-set, so that of concurrent
 * refusals, on any instance, one is recorded.
 */
export async function auditRefusal(
  context: Context,
  flow: Pick<FlowRecord, "tenant" | "id">,
  refusal: AuditedRefusal,
): Promise<void> {
  const { type, payload, kind } = refusalEntry(refusal);
  const at = context.clock.now();
  await changeFlow(
    context,
    flow.tenant,
    flow.id,
    (current) => {
      const last = current.refusalsAuditedAt?.[kind];
      // Either way round: another instance's clock may run a little ahead of this one's.
      const since = last === undefined ? Infinity : Math.abs(at.getTime() - Date.parse(last));
      if (since < REFUSAL_AUDIT_INTERVAL_SECONDS * 1000) return undefined;
      const audited: Partial<Record<FlowRefusalKind, string>> = {
        ...current.refusalsAuditedAt,
        [kind]: at.toISOString(),
      };
      return { ...current, refusalsAuditedAt: audited };
    },
    () => ({ type, payload }),
  );
}

/** The audit event of `refusal`, and the kind it is bounded by. */
function refusalEntry(refusal: AuditedRefusal): {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly kind: FlowRefusalKind;
} {
  if (typeof refusal === "string") return { type: refusal, payload: {}, kind: refusal };
  if (refusal.type === "federation.rejected") {
    const { idp, reason, detail } = refusal;
    return {
      type: refusal.type,
      payload: { idp: idp.id, protocol: idp.protocol, reason, detail },
      kind: `${refusal.type}:${idp.id}:${reason}`,
    };
  }
  return {
    type: refusal.type,
    payload: { reason: refusal.reason, caller: refusal.caller },
    // By caller too: the chain is where a tenant learns which keys held its code (the request
    // log does not name them), and keys are few, made by platform administrators.
    kind: `${refusal.type}:${refusal.reason}:${refusal.caller}`,
  };
}

/**
 * Audits a refused exchange of a code that names no flow (`unknown_code`, or `malformed_code` for
 * one of no code's shape), unless one of that reason by that key was within
 * {@link REFUSAL_AUDIT_INTERVAL_SECONDS}: a key guessing codes is named, when it began and for how
 * long it went on, as a key holding another client's code is ({@link auditRefusal}), and the
 * chain grows a row a minute at most however fast it guesses. In the platform's chain (the code
 * names no tenant), as `flow.exchange_refused` with the reason and the caller only: never the
 * code, its hash or any part of it, which could be a live code. When it was last audited is kept
 * in the shared store, so that of concurrent refusals, on any instance, one is recorded.
 */
export async function auditRefusalWithoutFlow(
  context: Context,
  refusal: { readonly reason: "unknown_code" | "malformed_code"; readonly caller: string },
): Promise<void> {
  const now = context.clock.now().getTime();
  const interval = REFUSAL_AUDIT_INTERVAL_SECONDS * 1000;
  const time = (ms: number) => new Date(ms).toISOString();
  const { reason, caller } = refusal;
  const key = `${reason}:${caller}`;
  // In force: recorded within the interval before now, either way round (another instance's
  // clock may run a little ahead of this one's), as auditRefusal judges a flow's.
  const inForce = { after: time(now), until: time(now + 2 * interval) };
  // Read first, outside a transaction: a key guessing codes must not take the write lock (on
  // SQLite, the whole store's) once per guess when nothing is to be recorded. Lapsed, the claim
  // below still decides, in one statement, which of concurrent refusals records it.
  const recorded = await readStore(context, (r) =>
    r.oneTimeProofs.isInForce(EXCHANGE_REFUSED, key, inForce),
  );
  if (recorded) return;
  await transact(context, async (r) => {
    const claimed = await r.oneTimeProofs.claimLapsed(
      EXCHANGE_REFUSED,
      key,
      time(now + interval),
      inForce,
    );
    if (!claimed) return;
    await recordAudit(context, r, {
      tenant: null,
      type: EXCHANGE_REFUSED,
      actor: caller,
      payload: { reason, caller },
    });
  });
}

/**
 * Keeps an IdP's `verified` answer on a pending, unexpired flow until the flow's browser claims
 * it with its `answerId` ({@link claimIdpAnswer}); a later answer replaces an unclaimed one.
 * Audited as `flow.idp_answered`. `added` when kept, `closed` when the flow can take no more
 * evidence. `withdrawalsSeen` is the flow's count of withdrawals when the sign-in started
 * (recorded on its request), kept with the answer for the claim to compare.
 */
export async function holdIdpAnswer(
  context: Context,
  tenant: string,
  id: string,
  verified: {
    readonly answerId: string;
    readonly event: FederatedEvent;
    /** The federation request answered, and its IdP's protocol, for a refused claim's audit. */
    readonly request: string;
    readonly protocol: IdpRecord["protocol"];
    readonly withdrawalsSeen?: number | undefined;
  },
): Promise<"added" | "closed"> {
  const now = context.clock.now().toISOString();
  const { answerId, event, request, protocol, withdrawalsSeen } = verified;
  const answer = {
    hash: sha256(answerId),
    event,
    request,
    protocol,
    ...(withdrawalsSeen === undefined ? {} : { withdrawalsSeen }),
  };
  const held = await changeFlow(
    context,
    tenant,
    id,
    (flow) =>
      flow.status !== "pending" || flow.expiresAt <= now
        ? undefined
        : { ...flow, idpAnswer: answer },
    () => ({ type: "flow.idp_answered", payload: { idp: event.idp, at: event.at } }),
  );
  return held?.idpAnswer?.hash === sha256(answerId) ? "added" : "closed";
}

/**
 * Moves the IdP answer held for `answerId` into the flow's evidence, audited as `flow.verified`:
 * `claimed`. The caller has checked that the request comes from the flow's browser.
 *
 * An answer whose sign-in started before the principal's proofs were last withdrawn (its
 * `withdrawalsSeen` is behind the flow's count) is dropped instead, audited as
 * `flow.idp_answer_withdrawn`: verified before the withdrawal, or while it ran, and held after
 * it (a withdrawal drops only the answer held by then, see `withdrawProofs`), it proves no more
 * than what the withdrawal took from the flow. The page asks again (`none`).
 *
 * An answer from an IdP other than the one the principal is now bound to (bound since the ACS or
 * callback judged it: DESIGN invariant 9) is dropped too, refused as there: `refused`, audited
 * as `federation.rejected` with reason `federation.idp_not_bound`, in the same transaction.
 * `none` when there was nothing to claim under `answerId`.
 */
export async function claimIdpAnswer(
  context: Context,
  flow: FlowRecord,
  answerId: string,
): Promise<"claimed" | "refused" | "none"> {
  const hash = sha256(answerId);
  const now = context.clock.now().toISOString();
  let claimed: AuthenticationEvent | undefined;
  let dropped: AuthenticationEvent | undefined;
  let refused: HeldIdpAnswer | undefined;
  await changeFlow(
    context,
    flow.tenant,
    flow.id,
    async (current, r) => {
      const held = current.idpAnswer;
      claimed = undefined;
      dropped = undefined;
      refused = undefined;
      if (current.status !== "pending" || current.expiresAt <= now) return undefined;
      if (held === undefined || !sameSecret(held.hash, hash)) return undefined;
      const { idpAnswer: _held, ...rest } = current;
      if (
        held.withdrawalsSeen !== undefined &&
        held.withdrawalsSeen !== (current.withdrawals ?? 0)
      ) {
        dropped = held.event;
        return rest;
      }
      // A flow's answer names the flow's principal (the ACS and callback refuse any other).
      if (await boundToAnotherIdp(r, current.tenant, current.principal, held.event.idp)) {
        refused = held;
        return rest;
      }
      claimed = held.event;
      return { ...rest, events: [...current.events, held.event] };
    },
    () => (dropped === undefined ? verifiedEntry(claimed) : withdrawnEntry(dropped)),
    (r) => (refused === undefined ? Promise.resolve() : auditNotBound(context, r, flow, refused)),
  );
  return claimed !== undefined ? "claimed" : refused !== undefined ? "refused" : "none";
}

/**
 * The `federation.rejected` event of a held answer refused at its claim because the flow's
 * principal is bound to another IdP: as the ACS or callback records that refusal.
 */
async function auditNotBound(
  context: Context,
  r: Repositories,
  flow: Pick<FlowRecord, "tenant" | "id" | "principal">,
  held: HeldIdpAnswer,
): Promise<void> {
  const { idp } = held.event;
  await recordAudit(context, r, {
    tenant: flow.tenant,
    type: "federation.rejected",
    actor: `idp:${idp}`,
    payload: {
      idp,
      ...(held.protocol === undefined ? {} : { protocol: held.protocol }),
      reason: IDP_NOT_BOUND.reason,
      detail: IDP_NOT_BOUND.detail,
      ...(held.request === undefined ? {} : { request: held.request }),
      principal: flow.principal,
      flow: flow.id,
    },
  });
}

/** The `flow.idp_answer_withdrawn` audit entry of a held answer dropped when claimed. */
function withdrawnEntry(event: AuthenticationEvent) {
  return {
    type: "flow.idp_answer_withdrawn",
    payload: { at: event.at, ...(event.method === "federated" ? { idp: event.idp } : {}) },
  };
}

/** The `flow.verified` audit entry of an event added to a flow. */
function verifiedEntry(event: AuthenticationEvent | undefined) {
  return event === undefined
    ? undefined
    : {
        type: "flow.verified",
        payload: {
          method: event.method,
          at: event.at,
          ...(event.method === "federated" ? { idp: event.idp } : {}),
        },
      };
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
    () => verifiedEntry(event),
  );
  return outcome;
}
