import { chainOf } from "../audit/audit-chain.js";
import type { AuditEvent } from "../records.js";
import type { Harness } from "./harness.js";

/**
 * The events of `tenant`'s audit chain (null: the platform's), in chain order, each as `name` calls it; those it answers
 * undefined for are left out. A race test compares the order in which what it raced committed.
 */
export async function auditEventsOf(
  h: Harness,
  tenant: string | null,
  name: (event: AuditEvent) => string | undefined,
): Promise<string[]> {
  const events = await h.store.read(({ audit }) =>
    audit.read(chainOf(tenant), { afterSeq: 0, limit: 500 }),
  );
  return events.flatMap((event) => name(event) ?? []);
}

/**
 * A hosted flow's code exchange as its audit event says: its type, and a refusal's with its
 * reason (`flow.exchange_refused:exemption_ended`); undefined for any other event.
 */
export function exchangeEventName(event: AuditEvent): string | undefined {
  if (event.type === "flow.exchange_refused") {
    return `${event.type}:${String(event.payload["reason"])}`;
  }
  return event.type.startsWith("flow.exchange") ? event.type : undefined;
}

/**
 * A principal's update as its audit event says, a shared-login mark as
 * `principal.updated:shared_login`; undefined for any other event, or another principal's.
 */
export function principalUpdateName(principal: string) {
  return (event: AuditEvent): string | undefined => {
    if (event.type !== "principal.updated" || event.payload["id"] !== principal) return undefined;
    return event.payload["sharedLogin"] === true ? `${event.type}:shared_login` : event.type;
  };
}
