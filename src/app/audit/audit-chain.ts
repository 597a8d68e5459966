import { createHash } from "node:crypto";
import type { AuditEvent } from "../records.js";

/** The `prevHash` of a chain's first event. */
export const GENESIS_HASH = "0".repeat(64);

/** The chain an event belongs to: one per tenant, one for platform-wide events. */
export function chainOf(tenant: string | null): string {
  return tenant === null ? "platform" : `tenant:${tenant}`;
}

/**
 * JSON with object keys sorted at every depth, so that the same event always hashes the same
 * whatever order its fields were built or stored in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** SHA-256 over the canonical form of every field of the event but the hash itself. */
export function hashEvent(event: Omit<AuditEvent, "hash">): string {
  const { chain, seq, id, tenant, type, actor, at, payload, prevHash } = event;
  return createHash("sha256")
    .update(canonicalJson({ chain, seq, id, tenant, type, actor, at, payload, prevHash }))
    .digest("hex");
}

/** What goes into one audit event, before it is linked into its chain. */
export interface AuditEntry {
  readonly tenant: string | null;
  readonly type: string;
  readonly actor: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** Links an entry after `head`, the chain's last event (none for an empty chain). */
export function linkEvent(
  entry: AuditEntry,
  head: { seq: number; hash: string } | undefined,
  id: string,
  at: string,
): AuditEvent {
  const unhashed = {
    chain: chainOf(entry.tenant),
    seq: (head?.seq ?? 0) + 1,
    id,
    tenant: entry.tenant,
    type: entry.type,
    actor: entry.actor,
    at,
    payload: entry.payload,
    prevHash: head?.hash ?? GENESIS_HASH,
  };
  return { ...unhashed, hash: hashEvent(unhashed) };
}

/** Why a link is broken. */
export type ChainProblem =
  "hash_mismatch" | "prev_hash_mismatch" | "gap" | "reordered" | "unexpected_first_event";

/**
 * Checks events read in storage order against the previous link: positions follow on without
 * gaps, each points at the previous hash, and each hash matches its content. Returns the first
 * problem, or `undefined` when the link holds.
 */
export function checkLink(
  event: AuditEvent,
  previous: { seq: number; hash: string } | undefined,
): ChainProblem | undefined {
  const expectedSeq = (previous?.seq ?? 0) + 1;
  if (event.seq < expectedSeq) return "reordered";
  if (event.seq > expectedSeq) return "gap";
  if (event.prevHash !== (previous?.hash ?? GENESIS_HASH)) return "prev_hash_mismatch";
  if (hashEvent(event) !== event.hash) return "hash_mismatch";
  return undefined;
}

/**
 * Checks that a tenant's chain starts where every tenant's does, with its `tenant.created` event
 * (written with the tenant): a chain that starts otherwise lost its beginning. Other events, and
 * the platform chain's, pass.
 */
export function checkFirstEvent(event: AuditEvent): ChainProblem | undefined {
  if (event.seq !== 1 || event.chain === chainOf(null)) return undefined;
  return event.type === "tenant.created" &&
    event.tenant !== null &&
    event.chain === chainOf(event.tenant)
    ? undefined
    : "unexpected_first_event";
}
