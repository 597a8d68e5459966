// Threat: an emergency mandate or a stricter policy that a cache keeps from taking effect. Every
// change is announced, and drops what the cache holds; a read that a change overlapped may have
// read the state before it, so it must never be kept either (or the change would wait for the
// entry to age out).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TenantPolicy } from "../../core/policy.js";
import { minimalMandateVersion } from "../../storage/contract/fixtures.js";
import { openStore } from "../../storage/open-store.js";
import type { Store } from "../ports.js";
import type { MandateVersionRecord } from "../records.js";
import { RulesCache } from "./rules-cache.js";

let store: Store;
let now = Date.parse("2026-12-05T10:00:00.000Z");
const clock = { now: () => new Date(now) };
let cache: RulesCache;

beforeEach(async () => {
  store = await openStore("sqlite::memory:");
  cache = new RulesCache(store, clock);
});
afterEach(async () => {
  cache.close();
  await store.close();
});

const policy = (version: number): TenantPolicy => ({
  tenant: "acme",
  version,
  posture: "platform_mfa",
});
const mandate = (version: number): MandateVersionRecord => ({
  ...minimalMandateVersion("uplift", version),
  status: "active",
});

/** A load that waits until `release` is called, to overlap it with a change. */
function heldLoad<T>(value: T): { load: () => Promise<T>; release: () => void } {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  return { load: () => held.then(() => value), release };
}

describe("the rules cache", () => {
  it("serves a policy for up to a second, then reads it again", async () => {
    expect(await cache.policy("acme", () => Promise.resolve(policy(1)))).toEqual(policy(1));
    now += 999;
    expect(await cache.policy("acme", () => Promise.resolve(policy(2)))).toEqual(policy(1));
    now += 1;
    expect(await cache.policy("acme", () => Promise.resolve(policy(2)))).toEqual(policy(2));
  });

  it("keeps the policy object it holds when the policy read again is the same version", async () => {
    // The engine prepares a policy's rules once per object: a new object per reload would make
    // it prepare them again every second for every tenant.
    const first = await cache.policy("acme", () => Promise.resolve(policy(1)));
    now += 1000;
    expect(await cache.policy("acme", () => Promise.resolve(policy(1)))).toBe(first);
    now += 1000;
    const second = await cache.policy("acme", () => Promise.resolve(policy(2)));
    expect(second).toEqual(policy(2));
    expect(second).not.toBe(first);
    expect(Object.isFrozen(second)).toBe(true);
  });

  it("reads a policy again at once when its change is announced", async () => {
    await cache.policy("acme", () => Promise.resolve(policy(1)));
    await store.notify({ kind: "policy", tenant: "acme" });
    expect(await cache.policy("acme", () => Promise.resolve(policy(2)))).toEqual(policy(2));
  });

  it("does not keep a policy read that a change overlapped", async () => {
    const overlapped = heldLoad(policy(1));
    const reading = cache.policy("acme", overlapped.load);
    await store.notify({ kind: "policy", tenant: "acme" });
    overlapped.release();
    // The decision that read it uses what it read; the next one reads the store again.
    expect(await reading).toEqual(policy(1));
    expect(await cache.policy("acme", () => Promise.resolve(policy(2)))).toEqual(policy(2));
  });

  it("does not keep mandates read while a mandate change was announced", async () => {
    const overlapped = heldLoad([mandate(1)]);
    const reading = cache.mandates(overlapped.load);
    await store.notify({ kind: "mandate" });
    overlapped.release();
    expect(await reading).toEqual([mandate(1).mandate]);
    expect(await cache.mandates(() => Promise.resolve([mandate(2)]))).toEqual([mandate(2).mandate]);
  });

  it("keeps the mandate objects it holds when the mandates read again are the same versions", async () => {
    // As for policies: the engine prepares rules once per set of mandate objects.
    const other = (version: number): MandateVersionRecord => ({
      ...minimalMandateVersion("baseline", version),
      status: "active",
    });
    const [uplift, baseline] = await cache.mandates(() => Promise.resolve([mandate(1), other(1)]));
    now += 1000;
    const again = await cache.mandates(() => Promise.resolve([mandate(1), other(1)]));
    expect(again[0]).toBe(uplift);
    expect(again[1]).toBe(baseline);
    now += 1000;
    const changed = await cache.mandates(() => Promise.resolve([mandate(2), other(1)]));
    expect(changed[0]).toEqual(mandate(2).mandate);
    expect(changed[0]).not.toBe(uplift);
    expect(Object.isFrozen(changed[0])).toBe(true);
    expect(changed[1]).toBe(baseline);
    now += 1000;
    const retired = await cache.mandates(() =>
      Promise.resolve([{ ...mandate(2), status: "retired" as const }, other(1)]),
    );
    expect(retired).toEqual([other(1).mandate]);
  });

  it("keeps mandates read while no change was announced, for up to a second", async () => {
    await cache.mandates(() => Promise.resolve([mandate(1)]));
    now += 500;
    expect(await cache.mandates(() => Promise.resolve([mandate(2)]))).toEqual([mandate(1).mandate]);
    await store.notify({ kind: "mandate" });
    expect(await cache.mandates(() => Promise.resolve([mandate(2)]))).toEqual([mandate(2).mandate]);
  });
});
