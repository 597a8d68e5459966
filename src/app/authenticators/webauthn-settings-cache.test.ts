import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import type { WebAuthnSettingsView } from "../application.js";
import { AppError } from "../errors.js";
import type { Store } from "../ports.js";
import { ManualClock } from "../test-support/harness.js";
import { WebAuthnSettingsCache } from "./webauthn-settings-cache.js";

const settingsOf = (tenant: string, rpId: string): WebAuthnSettingsView => ({
  tenant,
  source: "tenant",
  rpId,
  rpName: tenant,
  origins: [`https://${rpId}`],
  userVerification: "required",
  attestation: "none",
  aaguids: [],
  signCountPolicy: "reject",
});

let store: Store;
let clock: ManualClock;
let cache: WebAuthnSettingsCache;
let loads: number;
/** A loader counting its calls, answering `rp-<n>.example` for the n-th. */
const load = (tenant: string) => () => {
  loads += 1;
  return Promise.resolve(settingsOf(tenant, `rp-${String(loads)}.example`));
};

beforeEach(async () => {
  store = await openStore("sqlite::memory:");
  clock = new ManualClock();
  cache = new WebAuthnSettingsCache(store, clock);
  loads = 0;
});
afterEach(async () => {
  cache.close();
  await store.close();
});

describe("the WebAuthn settings cache", () => {
  it("serves a tenant's settings from memory for less than a second, then reads them again", async () => {
    expect((await cache.settings("acme", load("acme"))).rpId).toBe("rp-1.example");
    clock.advance(0.999);
    expect((await cache.settings("acme", load("acme"))).rpId).toBe("rp-1.example");
    clock.advance(0.001);
    expect((await cache.settings("acme", load("acme"))).rpId).toBe("rp-2.example");
    expect(loads).toBe(2);
  });

  it("keeps each tenant's settings apart", async () => {
    await cache.settings("acme", load("acme"));
    expect((await cache.settings("globex", load("globex"))).tenant).toBe("globex");
    expect((await cache.settings("acme", load("acme"))).tenant).toBe("acme");
    expect(loads).toBe(2);
  });

  it("drops a tenant's entry on its webauthn_settings notice, and only that one", async () => {
    await cache.settings("acme", load("acme"));
    await cache.settings("globex", load("globex"));
    await store.notify({ kind: "webauthn_settings", tenant: "acme" });
    await store.notify({ kind: "policy", tenant: "globex" });
    expect((await cache.settings("acme", load("acme"))).rpId).toBe("rp-3.example");
    expect((await cache.settings("globex", load("globex"))).rpId).toBe("rp-2.example");
  });

  it("drops every entry on a webauthn_settings notice that names no tenant", async () => {
    await cache.settings("acme", load("acme"));
    await cache.settings("globex", load("globex"));
    await store.notify({ kind: "webauthn_settings" });
    await cache.settings("acme", load("acme"));
    await cache.settings("globex", load("globex"));
    expect(loads).toBe(4);
  });

  it("drops a tenant's entry when told to, before any notice", async () => {
    await cache.settings("acme", load("acme"));
    cache.forget("acme");
    expect((await cache.settings("acme", load("acme"))).rpId).toBe("rp-2.example");
  });

  it("does not keep settings whose read overlapped a change", async () => {
    let release: () => void = () => undefined;
    const slow = cache.settings("acme", async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return settingsOf("acme", "old.example");
    });
    await store.notify({ kind: "webauthn_settings", tenant: "acme" });
    release();
    // The ceremony that read them still uses them; the next one reads again.
    expect((await slow).rpId).toBe("old.example");
    expect((await cache.settings("acme", load("acme"))).rpId).toBe("rp-1.example");
  });

  it("keeps no refusal: a tenant that could not be read is read again", async () => {
    await expect(
      cache.settings("acme", () => Promise.reject(new AppError("webauthn.not_configured"))),
    ).rejects.toMatchObject({ code: "webauthn.not_configured" });
    expect((await cache.settings("acme", load("acme"))).rpId).toBe("rp-1.example");
  });

  it("hands out frozen settings, so that no ceremony can change them for the next", async () => {
    const settings = await cache.settings("acme", load("acme"));
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.origins)).toBe(true);
  });

  it("stops listening once closed", async () => {
    await cache.settings("acme", load("acme"));
    cache.close();
    await store.notify({ kind: "webauthn_settings", tenant: "acme" });
    expect((await cache.settings("acme", load("acme"))).rpId).toBe("rp-1.example");
  });
});
