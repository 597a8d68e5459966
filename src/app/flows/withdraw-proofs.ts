import type { Repositories } from "../ports.js";

/** What {@link withdrawProofs} ended, for the change's audit event. */
export interface WithdrawnProofs {
  /** Browser sessions of the principal ended. */
  readonly sessionsEnded: number;
  /** Open flows of the principal that forgot what was verified in them. */
  readonly flowsReset: number;
}

/**
 * Withdraws what a principal proved before one of its authenticators changed (removed, or its
 * recovery codes revoked or replaced): the browser sessions that remember it end, and the flows
 * it still has open forget what was verified in them (their events, and an IdP's answer held for
 * their browser to claim) and move to a new version, so that neither a later flow nor one that
 * completes after the change counts it (an answer held only after this, for a sign-in at the IdP
 * begun before it, is dropped when claimed: the flow's count of withdrawals moved on,
 * `claimIdpAnswer`). Runs in the change's own transaction. The flows go first: on PostgreSQL a
 * flow completing at the same moment holds its row until it commits, so it either commits first,
 * and the session it wrote is ended here, or finds its flow moved on and completes nothing.
 */
export async function withdrawProofs(
  r: Repositories,
  tenant: string,
  principal: string,
  at: string,
): Promise<WithdrawnProofs> {
  let flowsReset = 0;
  for (const flow of await r.flows.pendingOf(tenant, principal)) {
    // An IdP's answer held for the flow's browser was verified before the change too: it goes
    // with the rest, else the browser claims it afterwards and completes the flow.
    const { idpAnswer: _held, ...kept } = flow;
    const reset = {
      ...kept,
      events: [],
      // A verification under way now adds nothing when it ends (addFlowEvent compares this).
      withdrawals: (flow.withdrawals ?? 0) + 1,
      version: flow.version + 1,
      updatedAt: at,
    };
    if (await r.flows.update(reset)) flowsReset += 1;
  }
  const sessionsEnded = await r.browserSessions.removePrincipal(tenant, principal);
  return { sessionsEnded, flowsReset };
}
