import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ReceiptRecord } from "../records.js";
import { canonicalJson, digestReceipt, GENESIS_HASH, hashEvent, linkEvent } from "./audit-chain.js";

// Storage keeps what JSON.stringify makes of a value; the hash must be of that same value, or an
// event hashes one way when written and another when read back, and two different values (two
// dates) hash alike.
describe("canonical JSON", () => {
  it("hashes a Date, a URL and a typed array as the JSON that storage keeps of them", () => {
    const at = new Date("2026-11-23T12:00:00.000Z");
    expect(canonicalJson({ at })).toBe('{"at":"2026-11-23T12:00:00.000Z"}');
    expect(canonicalJson({ url: new URL("https://a.example/x") })).toBe(
      '{"url":"https://a.example/x"}',
    );
    expect(canonicalJson({ bytes: new Uint8Array([1, 2]) })).toBe('{"bytes":{"0":1,"1":2}}');
    expect(canonicalJson({ at })).not.toBe(
      canonicalJson({ at: new Date("2027-01-01T00:00:00.000Z") }),
    );
  });

  it("drops what JSON drops: undefined and functions in objects, null for them in arrays", () => {
    expect(canonicalJson({ b: 1, a: undefined, f: () => 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined, () => 1])).toBe("[null,null]");
    expect(canonicalJson(undefined)).toBe("null");
  });

  it("sorts keys at every depth", () => {
    expect(canonicalJson({ b: { d: 1, c: [{ f: 1, e: 2 }] }, a: 0 })).toBe(
      '{"a":0,"b":{"c":[{"e":2,"f":1}],"d":1}}',
    );
  });

  it("links an event whose payload holds a Date so that it verifies once stored and read back", () => {
    const event = linkEvent(
      { tenant: "acme", type: "x.happened", actor: "a", payload: { when: new Date(0) } },
      undefined,
      "evt_1",
      "2026-11-23T12:00:00.000Z",
    );
    const stored = JSON.parse(JSON.stringify(event)) as typeof event;
    expect(stored.prevHash).toBe(GENESIS_HASH);
    expect(hashEvent(stored)).toBe(event.hash);
  });
});

// A receipt's digest is made from the receipt in memory and checked against the receipt read back
// from its text columns: the two must hash alike for every value a receipt can hold (IdP claims
// kept verbatim: keys that look like numbers, any text, any number), and any change must show.
describe("receipt digest", () => {
  const receiptOf = (decision: unknown, inputSummary: unknown): ReceiptRecord => ({
    id: "dec_1",
    tenant: "acme",
    principal: "alice",
    outcome: "allow",
    createdAt: "2026-11-23T12:00:00.000Z",
    decision: decision as ReceiptRecord["decision"],
    inputSummary: inputSummary as ReceiptRecord["inputSummary"],
  });
  const readBack = (receipt: ReceiptRecord): ReceiptRecord => ({
    ...receipt,
    decision: JSON.parse(JSON.stringify(receipt.decision)) as ReceiptRecord["decision"],
    inputSummary: JSON.parse(JSON.stringify(receipt.inputSummary)) as ReceiptRecord["inputSummary"],
  });

  it("is the same for a receipt read back from its JSON text, whatever it holds", () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (decision, summary) => {
          const written = receiptOf({ outcome: "allow", claims: decision }, summary);
          expect(digestReceipt(readBack(written))).toBe(digestReceipt(written));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("changes with any field of the receipt", () => {
    const receipt = receiptOf({ outcome: "allow", "10": 1, "9": 2 }, { events: [] });
    const digest = digestReceipt(receipt);
    for (const edited of [
      { ...receipt, outcome: "deny" as const },
      { ...receipt, principal: "bob" },
      { ...receipt, createdAt: "2026-11-23T12:00:01.000Z" },
      { ...receipt, decision: { ...receipt.decision, outcome: "challenge" as const } },
      { ...receipt, inputSummary: { events: [{ method: "totp" }] } },
    ]) {
      expect(digestReceipt(edited)).not.toBe(digest);
    }
  });
});
