/**
 * Threat: an operator who edits, removes, reorders, inserts or rewrites audit events (or edits
 * the receipts they bind) and hands the auditor an export that hides it. The export checker
 * finds each at its line, against a checkpoint kept outside the operator's reach where the
 * rewrite recomputed every hash, and never calls an export cut short complete.
 */
import { describe, expect, it } from "vitest";
import type { Decision } from "../../core/decision.js";
import type { AuditEvent, ReceiptRecord } from "../records.js";
import { digestReceipt, linkEvent, recordedEventId } from "./audit-chain.js";
import type { CheckpointClaims } from "./audit-checkpoints.js";
import {
  exportedChainChecker,
  type CheckpointKey,
  type ExportCheckOptions,
} from "./check-exported-chain.js";

const TENANT = "acme";

function receiptOf(id: string, minute: number): ReceiptRecord {
  return {
    id,
    tenant: TENANT,
    principal: "alice",
    outcome: "allow",
    createdAt: `2026-12-07T10:${String(minute).padStart(2, "0")}:00.000Z`,
    decision: { outcome: "allow", id } as unknown as Decision,
    inputSummary: { methods: ["password", "totp"] },
  };
}

/** A tenant chain of `count` events: its creation, then decisions with their receipts. */
function chainOf(count: number): { events: AuditEvent[]; receipts: ReceiptRecord[] } {
  const events: AuditEvent[] = [];
  const receipts: ReceiptRecord[] = [];
  for (let i = 0; i < count; i++) {
    const at = `2026-12-07T10:${String(i).padStart(2, "0")}:00.000Z`;
    const receipt = receiptOf(`dec_${String(i)}`, i);
    const entry =
      i === 0
        ? { tenant: TENANT, type: "tenant.created", actor: "admin", payload: { id: TENANT } }
        : {
            tenant: TENANT,
            type: "decision.recorded",
            actor: "service",
            payload: { decision: receipt.id, outcome: "allow", receipt: digestReceipt(receipt) },
          };
    if (i > 0) receipts.push(receipt);
    const id = i === 0 ? "evt_created" : recordedEventId(receipt.id);
    events.push(linkEvent(entry, events.at(-1), id, at));
  }
  return { events, receipts };
}

/** Recomputes every hash from `from` on, as someone rewriting history would. */
function relink(events: AuditEvent[], from: number): AuditEvent[] {
  const out = events.slice(0, from);
  for (const event of events.slice(from)) {
    const { tenant, type, actor, payload, id, at } = event;
    out.push(linkEvent({ tenant, type, actor, payload }, out.at(-1), id, at));
  }
  return out;
}

function check(lines: readonly string[], options?: ExportCheckOptions) {
  const checker = exportedChainChecker(options);
  for (const line of lines) checker.add(line);
  return checker.result();
}

const asLines = (events: readonly unknown[]) => events.map((event) => JSON.stringify(event));

const KEY = { kid: "key_1", thumbprint: "pinned-thumbprint" };

function checkpointAt(
  events: readonly AuditEvent[],
  seq: number,
): CheckpointClaims & { key: CheckpointKey } {
  const event = events[seq - 1];
  if (event === undefined) throw new Error("no such event");
  return { chain: event.chain, seq, hash: event.hash, issuer: "https://mfa.example", key: KEY };
}

describe("checking an exported chain", () => {
  const { events, receipts } = chainOf(8);

  it("passes an intact export, from its first event to its last", () => {
    expect(check([...asLines(events), ""])).toEqual({
      ok: true,
      chain: "tenant:acme",
      first: 1,
      last: 8,
      events: 8,
    });
  });

  it.each([
    [
      "an edited payload",
      () =>
        events.map((e, i) => (i === 3 ? { ...e, payload: { ...e.payload, outcome: "deny" } } : e)),
      { line: 4, seq: 4, problem: "hash_mismatch" },
    ],
    [
      "a removed event",
      () => events.filter((_, i) => i !== 4),
      { line: 5, seq: 6, problem: "gap" },
    ],
    [
      "two events swapped",
      () => [...events.slice(0, 2), events[3], events[2], ...events.slice(4)],
      { line: 3, seq: 4, problem: "gap" },
    ],
    [
      "an event with its link recomputed to another history",
      () => {
        const forged = linkEvent(
          { tenant: TENANT, type: "exemption.approved", actor: "admin", payload: {} },
          { seq: 4, hash: "f".repeat(64) },
          "evt_forged",
          "2026-12-07T10:04:30.000Z",
        );
        return [...events.slice(0, 4), forged, ...events.slice(5)];
      },
      { line: 5, seq: 5, problem: "prev_hash_mismatch" },
    ],
    [
      "an event inserted, its own hash recomputed",
      () => {
        const forged = linkEvent(
          { tenant: TENANT, type: "exemption.approved", actor: "admin", payload: {} },
          events[4],
          "evt_forged",
          "2026-12-07T10:04:30.000Z",
        );
        return [...events.slice(0, 5), forged, ...events.slice(5)];
      },
      { line: 7, seq: 6, problem: "reordered" },
    ],
    [
      "a chain that lost its beginning, renumbered and relinked",
      () => relink(events.slice(2), 0),
      { line: 1, seq: 1, problem: "unexpected_first_event" },
    ],
    [
      "an event of another chain",
      () => [...events.slice(0, 3), { ...events[3], chain: "tenant:other" }],
      { line: 4, seq: 4, problem: "other_chain" },
    ],
    [
      "a line that is not JSON",
      () => [...events.slice(0, 2), "{oops"],
      { line: 3, seq: 3, problem: "not_an_event" },
    ],
    [
      "a line missing an event's member",
      () => [...events.slice(0, 2), { ...events[2], hash: undefined }],
      { line: 3, seq: 3, problem: "not_an_event" },
    ],
    [
      // JSON.parse reads any depth; what walks the event after it (writing it as the export
      // does, hashing it) recurses, and overflowed the stack: an uncaught RangeError.
      "an event nested deeper than any event the service writes",
      () => [
        ...events.slice(0, 2),
        JSON.stringify({ ...events[2], payload: { deep: "@" } }).replace(
          '"@"',
          `${"[".repeat(200_000)}${"]".repeat(200_000)}`,
        ),
      ],
      { line: 3, seq: 3, problem: "not_an_event" },
    ],
    [
      "a page of the audit API, saved without format=jsonl",
      () => [JSON.stringify({ items: events.slice(0, 3), next: "3" })],
      { line: 1, seq: 1, problem: "api_page" },
    ],
  ])("finds %s at its line", (_name, tampered, broken) => {
    const result = check(
      tampered().map((line) => (typeof line === "string" ? line : JSON.stringify(line))),
    );
    expect(result.broken).toEqual(broken);
    expect(result.ok).toBe(false);
  });

  describe("an event line not written as the export writes it", () => {
    // Each holds an event whose hash holds, but what a reader takes from the line need not be
    // what that hash covers: readers differ on which of a member given twice counts, a member
    // outside the event is not hashed at all, and digits past a double's precision are not read.
    const line = JSON.stringify(events[2]);
    const locked = linkEvent(
      {
        tenant: TENANT,
        type: "authenticator.locked",
        actor: "system",
        payload: { count: 2 ** 64 },
      },
      events[1],
      "evt_locked",
      "2026-12-07T10:02:00.000Z",
    );
    it.each([
      [
        "a member given twice, the first not the one hashed",
        line.replace('"payload":{', '"payload":{"outcome":"deny"},"payload":{'),
      ],
      [
        "a member the hash does not cover",
        line.replace('{"chain":', '{"approvedBy":"the CISO","chain":'),
      ],
      [
        "a number with digits past what its hash covers",
        JSON.stringify(locked).replace("18446744073709552000", "18446744073709551999"),
      ],
      ["a number spelled otherwise", line.replace('"seq":3,', '"seq":3.0,')],
    ])("finds %s", (_name, tampered) => {
      const result = check([...asLines(events.slice(0, 2)), tampered]);
      expect(result.broken).toEqual({ line: 3, seq: 3, problem: "not_as_exported" });
      expect(result.ok).toBe(false);
    });

    it("passes white space around a line, and a line ending in CR LF", () => {
      expect(check(asLines(events).map((l) => ` ${l}\t\r`)).ok).toBe(true);
    });
  });

  it("finds history rewritten with every hash recomputed, against a checkpoint taken before", () => {
    const checkpoint = checkpointAt(events, 6);
    const rewritten = relink(
      events.map((e, i) => (i === 2 ? { ...e, payload: { ...e.payload, outcome: "deny" } } : e)),
      2,
    );
    // Without the checkpoint the rewrite links up: that is what checkpoints are for.
    expect(check(asLines(rewritten)).ok).toBe(true);
    const result = check(asLines(rewritten), { checkpoint });
    expect(result.broken).toEqual({ line: 6, seq: 6, problem: "checkpoint_mismatch" });
    expect(result.ok).toBe(false);
  });

  it("confirms the checkpoint an intact export holds", () => {
    const result = check(asLines(events), { checkpoint: checkpointAt(events, 5) });
    expect(result.ok).toBe(true);
    expect(result.checkpoint).toEqual({
      chain: "tenant:acme",
      seq: 5,
      issuer: "https://mfa.example",
      key: KEY,
      confirmed: true,
    });
  });

  it("finds a chain cut short below its checkpoint", () => {
    const checkpoint = checkpointAt(events, 7);
    const result = check(asLines(events.slice(0, 5)), { checkpoint });
    expect(result.broken).toEqual({ line: 6, seq: 6, problem: "truncated" });
    expect(result.checkpoint?.confirmed).toBe(false);
    expect(result.ok).toBe(false);
  });

  it("never calls an export that ended with a problem complete", () => {
    const problem = { code: "audit.chain_damaged", status: 500 };
    const result = check([...asLines(events.slice(0, 3)), JSON.stringify({ problem })], {
      checkpoint: checkpointAt(events, 7),
    });
    expect(result.cutShort).toEqual(problem);
    expect(result.broken).toBeUndefined();
    expect(result.last).toBe(3);
    expect(result.ok).toBe(false);
  });

  describe("lines after a problem line: the rest, exported from after, appended", () => {
    const problem = JSON.stringify({ problem: { code: "audit.chain_damaged" } });

    it("checks them as the chain's continuation, the link across the cut too", () => {
      const mended = [...asLines(events.slice(0, 3)), problem, ...asLines(events.slice(3))];
      expect(check(mended, { checkpoint: checkpointAt(events, 7) })).toMatchObject({
        ok: true,
        first: 1,
        last: 8,
        events: 8,
        checkpoint: { seq: 7, confirmed: true },
      });
    });

    it("finds a rest that does not link to the events before the cut, or was edited", () => {
      // Checked alone, a rest exported from after=3 is checked from its own first event: the
      // link to event 3 was left to no one.
      const { tenant, type, actor, payload, id, at } = events[3] as AuditEvent;
      const fourth = linkEvent(
        { tenant, type, actor, payload },
        { seq: 3, hash: "f".repeat(64) },
        id,
        at,
      );
      const forked = relink([...events.slice(0, 3), fourth, ...events.slice(4)], 4);
      const rest = asLines(forked.slice(3));
      expect(check(rest).ok).toBe(true);
      expect(check([...asLines(events.slice(0, 3)), problem, ...rest]).broken).toEqual({
        line: 5,
        seq: 4,
        problem: "prev_hash_mismatch",
      });
      const edited = events.map((e, i) => (i === 5 ? { ...e, actor: "someone" } : e));
      expect(
        check([...asLines(events.slice(0, 3)), problem, ...asLines(edited.slice(3))]).broken,
      ).toEqual({ line: 7, seq: 6, problem: "hash_mismatch" });
    });
  });

  it("checks an export from later in the chain from its first event on", () => {
    const later = asLines(events.slice(4));
    expect(check(later)).toMatchObject({ ok: true, first: 5, last: 8, events: 4 });
    // A checkpoint before it can neither be confirmed nor contradicted: the check is not done.
    expect(check(later, { checkpoint: checkpointAt(events, 3) })).toMatchObject({
      ok: false,
      checkpoint: { seq: 3, confirmed: false },
    });
    const edited = events.slice(4).map((e, i) => (i === 0 ? { ...e, actor: "someone" } : e));
    expect(check(asLines(edited)).broken).toEqual({ line: 1, seq: 5, problem: "hash_mismatch" });
  });

  // The export lists a chain from its first row stored, even one placed below position 1, so
  // that a check of the export finds it as verify does: it is no export from `after`.
  it.each([
    ["below the chain's first", 0, "reordered"],
    ["that is no whole number", 2.5, "gap"],
  ])("finds an export whose first event sits at a position %s", (_name, seq, problem) => {
    const placed = linkEvent(
      { tenant: TENANT, type: "exemption.approved", actor: "admin", payload: {} },
      { seq: seq - 1, hash: "f".repeat(64) },
      "evt_placed",
      "2026-12-07T09:59:00.000Z",
    );
    for (const lines of [[JSON.stringify(placed)], [JSON.stringify(placed), ...asLines(events)]]) {
      const result = check(lines);
      expect(result.broken).toEqual({ line: 1, seq, problem });
      expect(result.ok).toBe(false);
    }
  });

  it("passes nothing with a checkpoint of another chain", () => {
    const other = { ...checkpointAt(events, 2), chain: "tenant:other" };
    const result = check(asLines(events), { checkpoint: other });
    expect(result).toMatchObject({
      ok: false,
      checkpoint: { chain: "tenant:other", confirmed: false },
    });
    expect(result.broken).toBeUndefined();
  });

  it("passes no export of no event: it shows nothing", () => {
    for (const lines of [[], [""], ["", "  "]]) {
      expect(check(lines)).toEqual({
        ok: false,
        chain: undefined,
        first: undefined,
        last: undefined,
        events: 0,
      });
    }
  });

  it("finds an empty export truncated below the checkpoint", () => {
    expect(check([""], { checkpoint: checkpointAt(events, 2) })).toMatchObject({
      ok: false,
      events: 0,
      broken: { line: 2, seq: 1, problem: "truncated" },
    });
  });

  describe("with the receipts the auditor fetched", () => {
    it("checks each against the digest its event keeps", () => {
      expect(check(asLines(events), { receipts })).toMatchObject({
        ok: true,
        receipts: { checked: 7, unrecorded: [] },
      });
    });

    it("finds a receipt edited after its event recorded it", () => {
      const edited = receipts.map((r, i) => (i === 2 ? { ...r, principal: "mallory" } : r));
      expect(check(asLines(events), { receipts: edited }).broken).toEqual({
        line: 4,
        seq: 4,
        problem: "receipt_mismatch",
      });
    });

    it("checks every version given of one receipt, and the same one given twice once", () => {
      const edited = { ...receipts[2], principal: "mallory" } as ReceiptRecord;
      for (const given of [
        [...receipts, edited],
        [edited, ...receipts],
      ]) {
        expect(check(asLines(events), { receipts: given }).broken).toEqual({
          line: 4,
          seq: 4,
          problem: "receipt_mismatch",
        });
      }
      expect(check(asLines(events), { receipts: [...receipts, ...receipts] })).toMatchObject({
        ok: true,
        receipts: { checked: 7 },
      });
    });

    it("names every receipt given that it could not check, which does not pass", () => {
      const other = { ...receiptOf("dec_other", 3), tenant: "globex" };
      const later = receiptOf("dec_later", 59);
      expect(check(asLines(events), { receipts: [...receipts, other, later] })).toMatchObject({
        ok: false,
        receipts: {
          checked: 7,
          unrecorded: [],
          unchecked: [
            { id: "dec_other", reason: "other_tenant" },
            { id: "dec_later", reason: "after_last_event" },
          ],
        },
      });
      // An export from later in the chain holds no event of a receipt made before it.
      expect(check(asLines(events.slice(4)), { receipts })).toMatchObject({
        ok: false,
        receipts: {
          checked: 4,
          unrecorded: [],
          unchecked: ["dec_1", "dec_2", "dec_3"].map((id) => ({ id, reason: "export_from_after" })),
        },
      });
    });

    it("tells apart receipts whose events were recorded before receipts were bound", () => {
      // Such an event keeps no digest: only the receipt's tenant and outcome are compared, and
      // an edit of anything else in it goes unseen.
      const old = receiptOf("dec_old", 1);
      const recorded = linkEvent(
        {
          tenant: TENANT,
          type: "decision.recorded",
          actor: "service",
          payload: { decision: old.id, outcome: "allow" },
        },
        events[0],
        "evt_old",
        old.createdAt,
      );
      const edited = { ...old, principal: "mallory" };
      expect(check(asLines([events[0], recorded]), { receipts: [edited] }).receipts).toEqual({
        checked: 1,
        unbound: 1,
        unrecorded: [],
        unchecked: [],
      });
    });

    it("names a receipt that no event of the whole chain records, but not one made after it", () => {
      const planted = { ...receiptOf("dec_planted", 3) };
      const later = { ...receiptOf("dec_later", 59) };
      const result = check(asLines(events), { receipts: [...receipts, planted, later] });
      expect(result.receipts?.unrecorded).toEqual(["dec_planted"]);
      expect(result.ok).toBe(false);
    });
  });
});
