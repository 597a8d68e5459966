import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { FlowRecord } from "../records.js";

/** What {@link withdrawProofs} ended, for the change's audit event. */
export interface WithdrawnProofs {
  /** Browser sessions of the principal ended. */
  readonly sessionsEnded: number;
  /** Open flows of the principal that forgot what was verified in them. */
  readonly flowsReset: number;
  /** Completed flows of the principal whose code, not yet exchanged, now exchanges for nothing. */
  readonly codesWithdrawn: number;
}

/** How often a flow that moved on meanwhile is read again before the change gives up. */
const ATTEMPTS = 5;

/**
 * Withdraws what a principal proved before one of its authenticators changed (removed, or its
 * recovery codes revoked or replaced): the browser sessions that remember it end, the flows it
 * still has open forget what was verified in them (their events, and an IdP's answer held for
 * their browser to claim) and move to a new version, so that neither a later flow nor one that
 * completes after the change counts it (an answer held only after this, for a sign-in at the IdP
 * begun before it, is dropped when claimed: the flow's count of withdrawals moved on,
 * `claimIdpAnswer`), and a flow completed on it whose code was not yet exchanged has that code
 * withdrawn (the token would vouch for what the change withdrew); and the principal's record
 * notes the instant, so that the decision API no longer counts a verification made before it
 * (`refuseWithdrawnVerifications`). Runs in the change's own
 * transaction. The flows go first: a flow completing or exchanged at the same moment is read again
 * until this moves it on (on PostgreSQL it holds its row until it commits), so a completion either
 * commits first, and its code is withdrawn and its session ended here, or finds its flow moved on
 * and completes nothing; an exchange either commits first (the token was due) or is refused.
 */
export async function withdrawProofs(
  r: Repositories,
  tenant: string,
  principal: string,
  at: string,
): Promise<WithdrawnProofs> {
  let flowsReset = 0;
  let codesWithdrawn = 0;
  for (const listed of await r.flows.unspentOf(tenant, principal)) {
    for (let attempt = 0, flow: FlowRecord | undefined = listed; ; attempt++) {
      const next = flow === undefined ? undefined : withdrawnFrom(flow, at);
      if (next === undefined) break;
      if (await r.flows.update(next)) {
        if (next.status === "pending") flowsReset += 1;
        else codesWithdrawn += 1;
        break;
      }
      if (attempt + 1 >= ATTEMPTS) {
        throw new AppError("store.unavailable", "A flow kept changing under this change.");
      }
      flow = await r.flows.get(tenant, listed.id);
    }
  }
  const sessionsEnded = await r.browserSessions.removePrincipal(tenant, principal);
  // After the flows' rows: a code exchange holds its flow's row, then the principal's.
  await r.principals.withdrawProofs(tenant, principal, at);
  return { sessionsEnded, flowsReset, codesWithdrawn };
}

/** `flow` after the withdrawal, as its next version; undefined when it has nothing to withdraw. */
function withdrawnFrom(flow: FlowRecord, at: string): FlowRecord | undefined {
  const moved = { version: flow.version + 1, updatedAt: at };
  if (flow.status === "pending") {
    // An IdP's answer held for the flow's browser was verified before the change too: it goes
    // with the rest, else the browser claims it afterwards and completes the flow.
    const { idpAnswer: _held, ...kept } = flow;
    // A verification under way now adds nothing when it ends (addFlowEvent compares this).
    return { ...kept, ...moved, events: [], withdrawals: (flow.withdrawals ?? 0) + 1 };
  }
  if (flow.status === "completed" && flow.proofsWithdrawnAt === undefined) {
    return { ...flow, ...moved, proofsWithdrawnAt: at };
  }
  return undefined;
}
