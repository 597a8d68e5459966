/**
 * The rules cache's lifetimes and keys, pinned where a mutation survey of src/app/decisions found
 * them unpinned: an entry serves no tenant but its own, and no longer than a second from the
 * moment its read began, whatever the clock or the store's speed does.
 */
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

const policy = (tenant: string, version: number): TenantPolicy => ({
  tenant,
  version,
  posture: "platform_mfa",
});
const mandate = (version: number): MandateVersionRecord => ({
  ...minimalMandateVersion("uplift", version),
  status: "active",
});

describe("the rules cache's entries", () => {
  // Threat: one tenant's decisions judged by another tenant's (weaker) policy.
  it("serves each tenant its own policy", async () => {
    await cache.policy("acme", () => Promise.resolve(policy("acme", 3)));
    expect(await cache.policy("globex", () => Promise.resolve(policy("globex", 1)))).toEqual(
      policy("globex", 1),
    );
    expect(await cache.policy("acme", () => Promise.resolve(policy("acme", 4)))).toEqual(
      policy("acme", 3),
    );
  });

  // Threat: a policy change announced for no tenant in particular (a platform-wide notice) that
  // leaves every tenant's cached policy in place until it ages out.
  it("drops every tenant's policy on a policy notice that names no tenant", async () => {
    await cache.policy("acme", () => Promise.resolve(policy("acme", 1)));
    await cache.policy("globex", () => Promise.resolve(policy("globex", 1)));
    await store.notify({ kind: "policy" });
    expect(await cache.policy("acme", () => Promise.resolve(policy("acme", 2)))).toEqual(
      policy("acme", 2),
    );
    expect(await cache.policy("globex", () => Promise.resolve(policy("globex", 2)))).toEqual(
      policy("globex", 2),
    );
  });

  // Threat: a clock stepped back (an NTP correction) makes every entry look young for as long as
  // the step, so a change whose notice was lost waits that long instead of a second.
  it("reads again when the clock has stepped back behind an entry", async () => {
    await cache.policy("acme", () => Promise.resolve(policy("acme", 1)));
    await cache.mandates(() => Promise.resolve([mandate(1)]));
    now -= 60_000;
    expect(await cache.policy("acme", () => Promise.resolve(policy("acme", 2)))).toEqual(
      policy("acme", 2),
    );
    expect(await cache.mandates(() => Promise.resolve([mandate(2)]))).toEqual([mandate(2).mandate]);
  });

  // Threat: a slow read (a loaded database) served for a second after it ended, though what it
  // read may be as old as its start: a lost notice's change would wait longer than a second.
  it("counts a policy's second from the start of its read", async () => {
    await cache.policy("acme", () => {
      now += 900;
      return Promise.resolve(policy("acme", 1));
    });
    now += 100;
    expect(await cache.policy("acme", () => Promise.resolve(policy("acme", 2)))).toEqual(
      policy("acme", 2),
    );
  });

  // Threat: as above, for an emergency mandate.
  it("counts the mandates' second from the start of their read", async () => {
    await cache.mandates(() => {
      now += 900;
      return Promise.resolve([mandate(1)]);
    });
    now += 100;
    expect(await cache.mandates(() => Promise.resolve([mandate(2)]))).toEqual([mandate(2).mandate]);
  });
});
