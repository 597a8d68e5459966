import { createHash } from "node:crypto";
import type { AuditEvent, ReceiptRecord } from "../records.js";

/** The `prevHash` of a chain's first event. */
export const GENESIS_HASH = "0".repeat(64);

/** The chain an event belongs to: one per tenant, one for platform-wide events. */
export function chainOf(tenant: string | null): string {
  return tenant === null ? "platform" : `tenant:${tenant}`;
}

/**
 * JSON with object keys sorted at every depth, so that the same event always hashes the same
 * whatever order its fields were built or stored in. A value is taken as `JSON.stringify` stores
 * it (what a JSON round trip gives back): a Date, a URL or anything with `toJSON` as what that
 * returns, a typed array as an object of its indices, and a property whose value JSON drops
 * (undefined, a function) dropped, so that what is hashed is what is read back.
 */
export function canonicalJson(value: unknown): string {
  return sortedJson(value, "") ?? "null";
}

// JSON.stringify's own rules (ECMA-262 SerializeJSONProperty), keys sorted by UTF-16 code units
// as `sort()` orders them, walked directly rather than through a JSON round trip: every decision
// hashes its receipt through here. Undefined: a value JSON leaves out (null in an array).
function sortedJson(input: unknown, key: string): string | undefined {
  let value = input;
  if (typeof value === "object" && value !== null) {
    const toJson = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJson === "function") value = (toJson as (key: string) => unknown).call(value, key);
    if (value instanceof Number || value instanceof String || value instanceof Boolean) {
      value = value.valueOf();
    }
  }
  if (typeof value !== "object" || value === null) {
    // Strings, numbers (non-finite ones as null), booleans, null: as JSON writes them; undefined,
    // functions and symbols: left out. A bigint throws, as JSON.stringify does.
    return typeof value === "function" || typeof value === "symbol"
      ? undefined
      : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      out += `${i === 0 ? "" : ","}${sortedJson(value[i], String(i)) ?? "null"}`;
    }
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = "";
  for (const name of keys) {
    const member = sortedJson(object[name], name);
    if (member !== undefined) out += `${out === "" ? "" : ","}${JSON.stringify(name)}:${member}`;
  }
  return `{${out}}`;
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
  /** The event's id when it must be found from what it records; a random `evt_…` otherwise. */
  readonly id?: string;
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
  // A position that is no whole number (text SQLite kept as written in its integer column)
  // compares with none, so every test below would pass it: the event expected is not there.
  if (!Number.isSafeInteger(event.seq)) return "gap";
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

/** The audit event type that records a decision and binds its receipt. */
export const DECISION_RECORDED = "decision.recorded";

/**
 * The id of the `decision.recorded` event of decision `decision`: derived from it, so that the
 * event is found by the audit log's unique id index, with no scan, wherever a receipt is read.
 * (Events recorded before receipts were bound have random ids.)
 */
export function recordedEventId(decision: string): string {
  return `evt_${decision}`;
}

/**
 * `sha256:<hex>` over the whole receipt (id, tenant, principal, outcome, time, the decision with
 * its requirement, provenance and evidence, and the input summary), as `decision.recorded` keeps
 * it: an edit of the stored receipt no longer matches its event.
 *
 * The fields are hashed in a fixed order as `JSON.stringify` writes them, not in the canonical
 * form the chain uses: a digest is made on every decision, and sorting every key costs three
 * times as much. Stable all the same: the store keeps the decision and the summary as that text,
 * and `JSON.stringify(JSON.parse(text))` gives the same text back (keys in the order written,
 * numbers in their shortest form), so a receipt read back hashes as it was written. A field
 * added to {@link ReceiptRecord} must be added here.
 */
export function digestReceipt(receipt: ReceiptRecord): string {
  const { id, tenant, principal, outcome, createdAt, decision, inputSummary } = receipt;
  const fields = JSON.stringify([
    id,
    tenant,
    principal,
    outcome,
    createdAt,
    decision,
    inputSummary,
  ]);
  return `sha256:${createHash("sha256").update(fields).digest("hex")}`;
}

/** Why a receipt and its `decision.recorded` event disagree. */
export type ReceiptProblem = "receipt_missing" | "receipt_mismatch";

/**
 * Checks a `decision.recorded` event against the receipt it names (none: deleted). An event with
 * a digest (`receipt`) needs the receipt that hashes to it; one recorded before receipts were
 * bound carries none, and needs only a receipt of its tenant with its outcome. Other events pass.
 */
export function checkRecordedReceipt(
  event: AuditEvent,
  receipt: ReceiptRecord | undefined,
): ReceiptProblem | undefined {
  if (event.type !== DECISION_RECORDED) return undefined;
  if (receipt === undefined) return "receipt_missing";
  const digest = event.payload["receipt"];
  if (digest !== undefined)
    return digest === digestReceipt(receipt) ? undefined : "receipt_mismatch";
  const outcome = event.payload["outcome"];
  return receipt.tenant === event.tenant &&
    receipt.outcome === outcome &&
    receipt.decision.outcome === outcome
    ? undefined
    : "receipt_mismatch";
}

/** The receipt id a `decision.recorded` event names; none for other events. */
export function recordedReceiptId(event: AuditEvent): string | undefined {
  if (event.type !== DECISION_RECORDED) return undefined;
  const id = event.payload["decision"];
  return typeof id === "string" ? id : "";
}
