/**
 * Threat: exhausting the authentication back-off's memory and event loop. `FailureLimiter` keeps
 * one entry per client address that sent a wrong API key; a client with many addresses (an IPv6
 * /64 holds 2^64 of them) sends one bad bearer token from each. Its table must stay bounded
 * (the address whose last failure is the oldest is forgotten first), and recording a failure
 * must not walk the table: a walk on every failure once the table is large, which removes
 * nothing within one window, blocks every other request. The work is counted in Map entries
 * visited, not in milliseconds.
 */
import { describe, expect, it } from "vitest";
import { FailureLimiter, MAX_TRACKED_ADDRESSES } from "./authenticate.js";

const WINDOW_MS = 60_000;
const address = (n: number) => `2001:db8::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;

/** Runs `work` (synchronous) and returns how many Map entries it visited by iterating. */
function countMapVisits(work: () => void): number {
  let visits = 0;
  const proto = Map.prototype as unknown as Record<PropertyKey, unknown>;
  const names: PropertyKey[] = ["entries", "keys", "values", Symbol.iterator, "forEach"];
  const originals = names.map((name) => proto[name]);
  names.forEach((name, i) => {
    const original = originals[i] as (this: unknown, ...args: unknown[]) => unknown;
    proto[name] =
      name === "forEach"
        ? function (this: unknown, callback: (...args: unknown[]) => void, thisArg?: unknown) {
            original.call(this, (...args: unknown[]) => {
              visits += 1;
              callback.apply(thisArg, args);
            });
          }
        : function (this: unknown) {
            const inner = original.call(this) as Iterator<unknown>;
            return {
              next: () => {
                visits += 1;
                return inner.next();
              },
              [Symbol.iterator]() {
                return this;
              },
            };
          };
  });
  try {
    work();
  } finally {
    names.forEach((name, i) => {
      proto[name] = originals[i];
    });
  }
  return visits;
}

describe("FailureLimiter under many client addresses", () => {
  it("remembers at most its bound of addresses, however many fail in one window", () => {
    const limiter = new FailureLimiter({ attempts: 20, windowMs: WINDOW_MS }, () => 1_000_000);
    for (let n = 0; n < MAX_TRACKED_ADDRESSES + 50_000; n++) limiter.fail(address(n));
    expect(limiter.size).toBe(MAX_TRACKED_ADDRESSES);
  });

  it("records a failure on a full table without walking it", () => {
    const limiter = new FailureLimiter({ attempts: 20, windowMs: WINDOW_MS }, () => 1_000_000);
    for (let n = 0; n <= MAX_TRACKED_ADDRESSES; n++) limiter.fail(address(n));
    const failures = 200;
    const visits = countMapVisits(() => {
      for (let n = 1; n <= failures; n++) limiter.fail(address(MAX_TRACKED_ADDRESSES + n));
    });
    // At most a look at the oldest entry per failure, to forget it.
    expect(visits).toBeLessThanOrEqual(failures);
    expect(limiter.size).toBeLessThanOrEqual(MAX_TRACKED_ADDRESSES);
  });

  it("forgets expired addresses in one sweep per window at most", () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter({ attempts: 20, windowMs: WINDOW_MS }, () => now, 1_000);
    for (let n = 0; n < 500; n++) limiter.fail(address(n));

    now += WINDOW_MS;
    const afterWindow = countMapVisits(() => {
      for (let n = 500; n < 1_000; n++) limiter.fail(address(n));
    });
    // One walk over the 500 expired entries (and the end of the walk), nothing per failure.
    expect(afterWindow).toBeLessThanOrEqual(501);
    expect(limiter.size).toBe(500);

    now += WINDOW_MS / 2;
    const withinWindow = countMapVisits(() => {
      for (let n = 1_000; n < 1_500; n++) limiter.fail(address(n));
    });
    expect(withinWindow).toBe(0);
    expect(limiter.size).toBe(1_000);
  });

  it("forgets the address whose last failure is the oldest first", () => {
    const now = 1_000_000;
    const limiter = new FailureLimiter({ attempts: 1, windowMs: WINDOW_MS }, () => now, 3);
    for (const a of ["a", "b", "c"]) limiter.fail(a);
    limiter.fail("a");
    limiter.fail("d");
    expect({
      a: limiter.retryAfter("a"),
      b: limiter.retryAfter("b"),
      c: limiter.retryAfter("c"),
      d: limiter.retryAfter("d"),
    }).toEqual({ a: 60, b: 0, c: 60, d: 60 });
    expect(limiter.size).toBe(3);
  });

  it("keeps counting an address within its window when it fails again", () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter({ attempts: 3, windowMs: WINDOW_MS }, () => now);
    limiter.fail("a");
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(0);
    now += 30_000;
    limiter.fail("a");
    // The window still ends a minute after the first failure, not the last.
    expect(limiter.retryAfter("a")).toBe(30);
    now += 30_000;
    expect(limiter.retryAfter("a")).toBe(0);
  });
});
