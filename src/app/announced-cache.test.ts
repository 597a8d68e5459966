// Threat: a cached registration (an IdP, a return URL, RP settings) that outlives its removal.
// The WebAuthn settings cache's tests cover expiry, notices, `forget` and overlapped reads; these
// cover what the sign-in cache adds: several keys per tenant, and values it must not keep.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../storage/open-store.js";
import { AnnouncedCache } from "./announced-cache.js";
import type { Store } from "./ports.js";
import { ManualClock } from "./test-support/harness.js";

let store: Store;
let cache: AnnouncedCache<string | undefined>;
let loads: number;
const load = (value: string | undefined) => () => {
  loads += 1;
  return Promise.resolve(value);
};

beforeEach(async () => {
  store = await openStore("sqlite::memory:");
  cache = new AnnouncedCache(store, new ManualClock(), {
    droppedBy: ["idp", "tenant"],
    keeps: (value) => value !== undefined,
  });
  loads = 0;
});
afterEach(async () => {
  cache.close();
  await store.close();
});

describe("a cache dropped by announced changes", () => {
  it("drops every key of a tenant on a notice of any of its kinds, and nothing of other tenants", async () => {
    for (const kind of ["idp", "tenant"] as const) {
      await cache.get("acme", "corp", load("corp"));
      await cache.get("acme", "partner", load("partner"));
      await cache.get("globex", "corp", load("globex corp"));
      loads = 0;
      await store.notify({ kind, tenant: "acme" });
      await cache.get("acme", "corp", load("corp"));
      await cache.get("acme", "partner", load("partner"));
      expect(await cache.get("globex", "corp", load("changed"))).toBe("globex corp");
      expect(loads).toBe(2);
    }
  });

  it("ignores notices of other kinds", async () => {
    await cache.get("acme", "corp", load("corp"));
    await store.notify({ kind: "policy", tenant: "acme" });
    await store.notify({ kind: "webauthn_settings" });
    expect(await cache.get("acme", "corp", load("changed"))).toBe("corp");
  });

  it("does not keep what it is told not to: an unknown IdP is read again every time", async () => {
    expect(await cache.get("acme", "new", load(undefined))).toBeUndefined();
    expect(await cache.get("acme", "new", load("registered since"))).toBe("registered since");
    expect(loads).toBe(2);
  });

  it("starts again rather than grow past 10,000 entries", async () => {
    for (let n = 0; n < 10_000; n++) await cache.get(`tenant-${String(n)}`, "corp", load("kept"));
    expect(await cache.get("tenant-0", "corp", load("read again"))).toBe("kept");
    await cache.get("one-more", "corp", load("kept"));
    expect(await cache.get("tenant-0", "corp", load("read again"))).toBe("read again");
  });
});
