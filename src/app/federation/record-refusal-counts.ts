import { recordAuditAcross, type Context } from "../context.js";
import type { Repositories } from "../ports.js";
import type { AuditEvent } from "../records.js";
import type { ClosedWindow } from "./refusal-budget.js";

/**
 * Appends the count of each closed minute's refusals that were not recorded one by one
 * (`federation.refusals_suppressed`: `idp`, `count`, `reasons`, `from`, `to`) to its tenant's
 * chain, all of them with one store call, so that the thousands of minutes an instance may hold
 * when it closes are recorded in a few statements, not a transaction each.
 */
export function recordRefusalCounts(
  context: Context,
  repositories: Repositories,
  windows: readonly ClosedWindow[],
): Promise<readonly AuditEvent[]> {
  return recordAuditAcross(
    context,
    repositories,
    windows.map(({ tenant, idp, suppressed }) => ({
      tenant,
      type: "federation.refusals_suppressed",
      actor: `idp:${idp}`,
      payload: { idp, ...suppressed },
    })),
  );
}
