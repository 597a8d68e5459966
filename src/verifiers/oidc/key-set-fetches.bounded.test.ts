/**
 * Threat: the record of key-set fetches, kept apart from the byte-bounded caches so that
 * eviction cannot end a cooldown, growing without bound with the issuers met (a tenant
 * administrator registering ever new ones). It keeps an issuer's fetch only while its cooldown
 * lasts, and at most `maxIssuers` of them, the oldest forgotten first.
 */
import { describe, expect, it } from "vitest";
import { KeySetFetches } from "./key-set-fetches.js";
import { RegistrationsServed } from "./registrations-served.js";

const COOLDOWN_MS = 30_000;

function fetchesAt(clock: { now: number }, maxIssuers = 100): KeySetFetches {
  return new KeySetFetches(COOLDOWN_MS, maxIssuers, () => clock.now);
}

describe("the key-set fetches remembered for their cooldowns", () => {
  it("keep an issuer's fetch for its cooldown, then forget it", () => {
    const clock = { now: 1_000_000 };
    const fetches = fetchesAt(clock);
    const fetch = fetches.start("https://a.example", new RegistrationsServed());
    clock.now += COOLDOWN_MS - 1;
    expect(fetches.recent("https://a.example")).toBe(fetch);
    clock.now += 1;
    expect(fetches.recent("https://a.example")).toBeUndefined();
    expect(fetches.size).toBe(0);
  });

  it("forget the fetches whose cooldown is over when another starts, even if never asked for again", () => {
    const clock = { now: 1_000_000 };
    const fetches = fetchesAt(clock);
    for (let i = 0; i < 50; i += 1)
      fetches.start(`https://${String(i)}.example`, new RegistrationsServed());
    clock.now += COOLDOWN_MS;
    fetches.start("https://late.example", new RegistrationsServed());
    expect(fetches.size).toBe(1);
  });

  it("remember at most maxIssuers fetches, the oldest forgotten first", () => {
    const clock = { now: 1_000_000 };
    const fetches = fetchesAt(clock, 3);
    for (const name of ["a", "b", "c", "d"]) {
      fetches.start(`https://${name}.example`, new RegistrationsServed());
      clock.now += 1_000;
    }
    expect(fetches.size).toBe(3);
    expect(fetches.recent("https://a.example")).toBeUndefined();
    for (const name of ["b", "c", "d"]) {
      expect(fetches.recent(`https://${name}.example`)).toBeDefined();
    }
  });

  it("count an issuer fetched again once, as its latest fetch", () => {
    const clock = { now: 1_000_000 };
    const fetches = fetchesAt(clock, 2);
    fetches.start("https://a.example", new RegistrationsServed());
    fetches.start("https://b.example", new RegistrationsServed());
    clock.now += 1_000;
    const again = fetches.start("https://a.example", new RegistrationsServed());
    fetches.start("https://c.example", new RegistrationsServed());
    expect(fetches.size).toBe(2);
    expect(fetches.recent("https://a.example")).toBe(again);
    expect(fetches.recent("https://b.example")).toBeUndefined();
  });

  it("take a fetch dated after the clock stepped back as over, not as cooling down for the step", () => {
    const clock = { now: 1_000_000 };
    const fetches = fetchesAt(clock);
    fetches.start("https://a.example", new RegistrationsServed());
    clock.now -= 3_600_000;
    expect(fetches.recent("https://a.example")).toBeUndefined();
  });
});
