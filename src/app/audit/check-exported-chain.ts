import type { AuditEvent, ReceiptRecord } from "../records.js";
import {
  checkFirstEvent,
  checkLink,
  checkRecordedReceipt,
  digestReceipt,
  hashEvent,
  recordedReceiptId,
  type ChainProblem,
} from "./audit-chain.js";
import type { CheckpointClaims } from "./audit-checkpoints.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../json-depth.js";

/**
 * An auditor's check of a chain exported as JSON Lines (`GET …/audit?format=jsonl`), with no
 * access to the store: every link, against a signed checkpoint kept outside the operator's reach,
 * and the receipts the auditor fetched against the digests their events keep. The same rules as
 * the store's own verification (`audit-chain.ts`), over what the auditor holds.
 *
 * @module
 */

/** An event holds at most a request body (MAX_JSON_DEPTH levels) in a few levels of its own. */
const DEEPEST_EVENT = 2 * MAX_JSON_DEPTH;

/** Why an export does not hold up, at the first line that shows it. */
export type ExportProblem =
  | ChainProblem
  /** The line is not JSON, or not an audit event. */
  | "not_an_event"
  /**
   * The line is a page of the audit API (`{"items": [...]}`), as it answers without
   * `format=jsonl`: a list of events, not an export of them.
   */
  | "api_page"
  /**
   * The line holds an event, but not as the export writes it (`JSON.stringify` of its members,
   * in their order, and nothing else): a member twice, a member no event has, a number spelled
   * otherwise. What a reader takes from it need not be what its hash covers.
   */
  | "not_as_exported"
  /** The event is of another chain than the export's first. */
  | "other_chain"
  /** The event at the checkpoint's position does not have the hash the checkpoint states. */
  | "checkpoint_mismatch"
  /** The export holds every event to its end, and ends before the checkpoint's event. */
  | "truncated"
  /** A receipt given does not hash to the digest its `decision.recorded` event keeps. */
  | "receipt_mismatch";

/** What a check of an export found. */
export interface ExportedChainCheck {
  /**
   * True when every link holds, the export is complete and holds an event, and what was given
   * matches: a checkpoint given must be confirmed, every receipt given must match its event.
   */
  readonly ok: boolean;
  /** The export's chain (`tenant:acme`, `platform`); undefined for an export of no event. */
  readonly chain: string | undefined;
  /** The positions of the first and last events read; undefined for none. */
  readonly first: number | undefined;
  readonly last: number | undefined;
  /** The events whose links were checked. */
  readonly events: number;
  /** The first link that does not hold, with its line in the file (from 1). */
  readonly broken?: {
    readonly line: number;
    readonly seq: number;
    readonly problem: ExportProblem;
  };
  /**
   * The problem document the export ended with: it was cut short there (README). Events after
   * a problem line (the rest, exported from `after` and appended) are checked as the chain's
   * continuation, the link across the cut too, which checking the rest alone leaves unchecked.
   */
  readonly cutShort?: Readonly<Record<string, unknown>>;
  /**
   * The checkpoint given: `confirmed` when the export holds its event with its hash; false when
   * the export starts after it or is of another chain (nothing to compare: no confirmation).
   */
  readonly checkpoint?: {
    readonly chain: string;
    readonly seq: number;
    readonly issuer: string;
    readonly key: CheckpointKey;
    readonly confirmed: boolean;
  };
  /**
   * The receipts given: how many were checked against their events, which none records, and
   * which the export could not check.
   */
  readonly receipts?: {
    readonly checked: number;
    /**
     * How many of those checked were recorded before receipts were bound: their events keep no
     * digest, so only the receipt's tenant and outcome were compared, and an edit of anything
     * else in it goes unseen (as `audit verify` checks them).
     */
    readonly unbound: number;
    /**
     * Receipts of the chain's tenant, made before its last event, that no event of an export
     * from the chain's start records: added to the store, or their events removed.
     */
    readonly unrecorded: readonly string[];
    /**
     * Receipts that no event of the export records, nor need to: of another tenant, made after
     * its last event, or from before an export that starts after the chain's first event. None
     * is checked, which is no pass (a receipt whose tenant was changed is one of them).
     */
    readonly unchecked: readonly { readonly id: string; readonly reason: UncheckedReason }[];
  };
}

/** Why a receipt given was not checked: no event of the export would record it. */
export type UncheckedReason = "other_tenant" | "after_last_event" | "export_from_after";

/**
 * The key that verified a checkpoint, as its file kept it. Whoever holds a key can sign a
 * checkpoint of any history and write any `iss` in it: only this key, compared with the one the
 * auditor pinned (the service's, as its JWKS published it), says whose the checkpoint is.
 */
export interface CheckpointKey {
  readonly kid: string;
  /** Its RFC 7638 JWK thumbprint (SHA-256, base64url): the same for the same key, wherever. */
  readonly thumbprint: string;
}

export interface ExportCheckOptions {
  /** A checkpoint opened with the key the auditor kept (its signature already verified). */
  readonly checkpoint?: CheckpointClaims & { readonly key: CheckpointKey };
  /**
   * Receipts the auditor fetched (`GET /v1/decisions/:id`), each checked: two of one id that
   * differ are two versions the operator served, and at most one matches its event's digest.
   */
  readonly receipts?: readonly ReceiptRecord[];
}

/**
 * Checks an export line by line: feed it every line with `add` (blank ones are skipped), then
 * read `result`. Memory stays constant whatever the export's length, but for the receipts given.
 */
export function exportedChainChecker(options: ExportCheckOptions = {}): {
  add(line: string): void;
  /** A line too long to hold an event, left unread: it is none. */
  addOverlong(): void;
  result(): ExportedChainCheck;
} {
  const { checkpoint } = options;
  const receipts = options.receipts === undefined ? undefined : byId(options.receipts);
  let line = 0;
  let chain: string | undefined;
  let first: number | undefined;
  let previous: { seq: number; hash: string } | undefined;
  let lastAt: string | undefined;
  let events = 0;
  let broken: ExportedChainCheck["broken"];
  let cutShort: ExportedChainCheck["cutShort"];
  let confirmed = false;
  let receiptsChecked = 0;
  let receiptsUnbound = 0;
  const recorded = new Set<string>();

  const breakAt = (seq: number, problem: ExportProblem) => {
    broken = { line, seq, problem };
  };

  function check(event: AuditEvent): void {
    if (chain === undefined) {
      chain = event.chain;
      first = event.seq;
    } else if (event.chain !== chain) {
      breakAt(event.seq, "other_chain");
      return;
    }
    // An export from `after` starts mid-chain: its first event's own hash is checked, and the
    // link before it is the earlier export's to show. Only at a position after the first: one
    // below it, or no whole number, is no later part of the chain (verify's `reordered`, `gap`).
    const problem =
      previous === undefined && Number.isSafeInteger(event.seq) && event.seq > 1
        ? hashEvent(event) === event.hash
          ? undefined
          : "hash_mismatch"
        : (checkLink(event, previous) ?? checkFirstEvent(event));
    if (problem !== undefined) {
      breakAt(event.seq, problem);
      return;
    }
    if (checkpoint !== undefined && checkpoint.chain === chain && event.seq === checkpoint.seq) {
      if (event.hash !== checkpoint.hash) {
        breakAt(event.seq, "checkpoint_mismatch");
        return;
      }
      confirmed = true;
    }
    const receiptId = recordedReceiptId(event);
    if (receiptId !== undefined) {
      recorded.add(receiptId);
      for (const receipt of receipts?.get(receiptId) ?? []) {
        if (checkRecordedReceipt(event, receipt) !== undefined) {
          breakAt(event.seq, "receipt_mismatch");
          return;
        }
        receiptsChecked++;
        if (event.payload["receipt"] === undefined) receiptsUnbound++;
      }
    }
    previous = { seq: event.seq, hash: event.hash };
    lastAt = event.at;
    events++;
    // An event linked after a problem line: the rest was appended, and the cut is mended.
    cutShort = undefined;
  }

  return {
    add(text) {
      line++;
      if (broken !== undefined || text.trim() === "") return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        breakAt((previous?.seq ?? 0) + 1, "not_an_event");
        return;
      }
      // README: an export that fails part-way ends with `{"problem": …}`, which no event has.
      if (isObject(parsed) && isObject(parsed["problem"]) && !("chain" in parsed)) {
        cutShort = parsed["problem"];
        return;
      }
      if (isObject(parsed) && Array.isArray(parsed["items"]) && !("chain" in parsed)) {
        breakAt((previous?.seq ?? 0) + 1, "api_page");
        return;
      }
      // Deeper than any event the service writes, and deep enough to overflow the stack of
      // what walks an event below (JSON.parse itself reads any depth).
      if (!isAuditEvent(parsed) || nestsDeeperThan(parsed, DEEPEST_EVENT)) {
        breakAt((previous?.seq ?? 0) + 1, "not_an_event");
        return;
      }
      // Readers differ where JSON.parse chooses: which of a member given twice counts (the hash
      // covers the last), whether digits past a double's precision count (the hash covers the
      // double). The line the export wrote leaves no such choice, and any other is not it.
      if (text.trim() !== exportedLine(parsed)) {
        breakAt(
          Number.isSafeInteger(parsed.seq) ? parsed.seq : (previous?.seq ?? 0) + 1,
          "not_as_exported",
        );
        return;
      }
      check(parsed);
    },

    addOverlong() {
      line++;
      if (broken !== undefined) return;
      breakAt((previous?.seq ?? 0) + 1, "not_an_event");
    },

    result() {
      const whole = broken === undefined && cutShort === undefined;
      // An export that runs to the chain's end from before the checkpoint's event holds it: one
      // ending short of it lost events. (A checkpoint of another chain confirms nothing here.)
      // An export of no event at all holds none of it either.
      if (
        whole &&
        checkpoint !== undefined &&
        !confirmed &&
        (chain === undefined ||
          (checkpoint.chain === chain && (previous?.seq ?? 0) < checkpoint.seq))
      ) {
        broken = { line: line + 1, seq: (previous?.seq ?? 0) + 1, problem: "truncated" };
      }
      const complete = broken === undefined && cutShort === undefined;
      const tenant = chain?.startsWith("tenant:") === true ? chain.slice("tenant:".length) : null;
      // A receipt is recorded in the same transaction as its event: one of the chain's tenant
      // made before the export's last event, in an export from the chain's start, must be in it.
      // No event of the export would record any other: it goes unchecked.
      const whyUnchecked = (receipt: ReceiptRecord): UncheckedReason | undefined =>
        receipt.tenant !== tenant
          ? "other_tenant"
          : lastAt === undefined || receipt.createdAt > lastAt
            ? "after_last_event"
            : first !== 1
              ? "export_from_after"
              : undefined;
      const unrecorded: string[] = [];
      const unchecked: { id: string; reason: UncheckedReason }[] = [];
      for (const [id, versions] of complete ? (receipts ?? []) : []) {
        if (recorded.has(id)) continue;
        const reasons = versions.map(whyUnchecked);
        const [reason] = reasons;
        if (reason === undefined || reasons.includes(undefined)) unrecorded.push(id);
        else unchecked.push({ id, reason });
      }
      return {
        // A checkpoint given and not confirmed (an export of another chain, or one starting
        // after its event) leaves the check undone, which is no pass; so does a receipt given
        // that no event of the export would record, and an export of no event (a download that
        // failed leaves one), which shows nothing.
        ok:
          complete &&
          events > 0 &&
          unrecorded.length === 0 &&
          unchecked.length === 0 &&
          (checkpoint === undefined || confirmed),
        chain,
        first,
        last: previous?.seq,
        events,
        ...(broken === undefined ? {} : { broken }),
        ...(cutShort === undefined ? {} : { cutShort }),
        ...(checkpoint === undefined
          ? {}
          : {
              checkpoint: {
                chain: checkpoint.chain,
                seq: checkpoint.seq,
                issuer: checkpoint.issuer,
                key: checkpoint.key,
                confirmed,
              },
            }),
        ...(receipts === undefined
          ? {}
          : {
              receipts: {
                checked: receiptsChecked,
                unbound: receiptsUnbound,
                unrecorded,
                unchecked,
              },
            }),
      };
    },
  };
}

/** `receipts` by id, each version of one once. */
function byId(receipts: readonly ReceiptRecord[]): ReadonlyMap<string, readonly ReceiptRecord[]> {
  const versions = new Map<string, Map<string, ReceiptRecord>>();
  for (const receipt of receipts) {
    const kept = versions.get(receipt.id) ?? new Map<string, ReceiptRecord>();
    kept.set(digestReceipt(receipt), receipt);
    versions.set(receipt.id, kept);
  }
  return new Map([...versions].map(([id, kept]) => [id, [...kept.values()]]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The line the export writes for `event` (`audit-events.ts`): its members in their order. */
function exportedLine(event: AuditEvent): string {
  const { chain, seq, id, tenant, type, actor, at, payload, prevHash, hash } = event;
  return JSON.stringify({ chain, seq, id, tenant, type, actor, at, payload, prevHash, hash });
}

/** Whether `value` has every member of an audit event, each of its type. */
function isAuditEvent(value: unknown): value is AuditEvent {
  if (!isObject(value)) return false;
  const { chain, seq, id, tenant, type, actor, at, payload, prevHash, hash } = value;
  return (
    typeof chain === "string" &&
    typeof seq === "number" &&
    typeof id === "string" &&
    (typeof tenant === "string" || tenant === null) &&
    typeof type === "string" &&
    typeof actor === "string" &&
    typeof at === "string" &&
    isObject(payload) &&
    typeof prevHash === "string" &&
    typeof hash === "string"
  );
}
