import { describe, expect, it } from "vitest";
import { canonicalJson, GENESIS_HASH, hashEvent, linkEvent } from "./audit-chain.js";

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
