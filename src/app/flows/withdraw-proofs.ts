import { chainOf } from "../audit/audit-chain.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { AuditEvent, FlowRecord } from "../records.js";

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
 * Withdraws what a principal proved before one of its authenticators changed (removed, its
 * recovery codes revoked or replaced, or a WebAuthn credential locked by a clone signal): the browser sessions that remember it end, the flows it
 * still has open forget what was verified in them (their events, and an IdP's answer held for
 * their browser to claim) and move to a new version, so that neither a later flow nor one that
 * completes after the change counts it (an answer held only after this, for a sign-in at the IdP
 * begun before it, is dropped when claimed: the flow's count of withdrawals moved on,
 * `claimIdpAnswer`), and a flow completed on it whose code was not yet exchanged has that code
 * withdrawn (the token would vouch for what the change withdrew). `record` then appends the
 * change's audit event to the tenant's chain (given what was ended, for its payload), and the
 * principal's record notes the instant `at`, for people, and that event's position in the chain,
 * so that the decision API no longer counts a verification recorded below it
 * (`refuseWithdrawnVerifications`). Runs in the change's own transaction; returns the event.
 *
 * The flows go first: a flow completing or exchanged at the same moment is read again until this
 * moves it on (on PostgreSQL it holds its row until it commits), so a completion either commits
 * first, and its code is withdrawn and its session ended here, or finds its flow moved on and
 * completes nothing; an exchange either commits first (the token was due) or is refused.
 *
 * Why a position and not the instant: every append to a chain locks the chain's head row (`FOR
 * UPDATE` on PostgreSQL; SQLite runs one write transaction at a time) and holds it until its
 * transaction ends, reading the head under that lock. The positions of a chain are therefore
 * handed out in the order its appending transactions end: a verification whose event stands
 * below the withdrawal's took the head first, and the withdrawal's append waited for it to end,
 * so it committed before the withdrawal did; one above it took the head only once the withdrawal
 * had committed. No verification can thus commit below the withdrawal's position after the
 * withdrawal has committed, and none committed before it escapes it, whatever each instance's
 * clock says (the instants the two events carry are each their own instance's, and a
 * verification in the same millisecond is ordered all the same). Nor can a verification of what
 * the change took away get above it: a verification and a change of the principal's methods each
 * claim the principal's verification-throttle row first (`throttle.guard`, `checkMethodRemoval`,
 * `checkMethodBinding`), and a verification's write of what it verified (the TOTP
 * authenticator's step, the WebAuthn credential's counter, the recovery code's use) matches only
 * a row still there; so one that appends after the change committed found the authenticator
 * removed, or the codes replaced, and verified nothing.
 *
 * Locks: as every path does, this takes the chain's head last. The principal's row is held
 * before it (`hold`), after the flows' rows (a code exchange holds its flow's row, then the
 * principal's, then the head), and written after the head while this transaction holds it
 * already: no wait there, so no cycle with a path that holds the head and waits for the
 * principal (or one that holds the principal and waits for the head).
 */
export async function withdrawProofs(
  r: Repositories,
  tenant: string,
  principal: string,
  at: string,
  record: (withdrawn: WithdrawnProofs) => Promise<AuditEvent>,
): Promise<AuditEvent> {
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
  await r.principals.hold(tenant, principal);
  const event = await record({ sessionsEnded, flowsReset, codesWithdrawn });
  if (event.chain !== chainOf(tenant)) {
    throw new Error(`A withdrawal of ${tenant} was recorded in chain ${event.chain}`);
  }
  await r.principals.withdrawProofs(tenant, principal, { at, seq: event.seq });
  return event;
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
