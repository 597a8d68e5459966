import { deepFreeze } from "../../core/input.js";
import type { WebAuthnSettingsView } from "../application.js";
import type { Clock, Store } from "../ports.js";

/**
 * How long settings found in the store may serve a ceremony without being read again: the bound
 * on a change made through another instance whose notice was lost. The same second as the rules
 * and API-key caches.
 */
const MAX_AGE_MS = 1000;

/** Only tenants that exist are kept; should there be more in use at once, it starts again. */
const MAX_ENTRIES = 10_000;

interface Entry {
  readonly settings: WebAuthnSettingsView;
  readonly loadedAt: number;
}

/**
 * Each tenant's WebAuthn settings in force (its own, or the defaults from the public URL) as
 * the ceremonies read them, cached per instance so that a sign-in does not read the tenant and
 * its settings from the store. Every `webauthn_settings` change announced through the store, by
 * this instance or another, drops the tenant's entry; the instance that made the change also
 * drops it itself before answering, so a new RP id, origin or user-verification requirement
 * binds the very next ceremony there even before its own notice comes back. Entries expire after
 * a second, so a lost notice never delays a change on another instance by more than that.
 * Refusals (no such tenant, not configured) are never kept.
 */
export class WebAuthnSettingsCache {
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #unsubscribe: () => void;
  /** Counts drops, so that a read that overlapped one is not kept. */
  #generation = 0;

  constructor(store: Store, clock: Clock) {
    this.#clock = clock;
    this.#unsubscribe = store.onChange((change) => {
      if (change.kind !== "webauthn_settings") return;
      if (change.tenant === undefined) this.#drop();
      else this.forget(change.tenant);
    });
  }

  /** The tenant's settings: cached if read less than a second ago, else from `load`. */
  async settings(
    tenant: string,
    load: () => Promise<WebAuthnSettingsView>,
  ): Promise<WebAuthnSettingsView> {
    const now = this.#clock.now().getTime();
    const cached = this.#entries.get(tenant);
    if (cached !== undefined && now - cached.loadedAt >= 0 && now - cached.loadedAt < MAX_AGE_MS) {
      return cached.settings;
    }
    const generation = this.#generation;
    // Frozen: one object serves every ceremony of the tenant until it is dropped.
    const settings = deepFreeze(await load());
    // A change announced while the settings were read may have come after the read: keep nothing.
    if (generation === this.#generation) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
      this.#entries.set(tenant, { settings, loadedAt: now });
    }
    return settings;
  }

  /** Drops the tenant's entry: its next ceremony reads the store. */
  forget(tenant: string): void {
    this.#entries.delete(tenant);
    this.#generation += 1;
  }

  close(): void {
    this.#unsubscribe();
  }

  #drop(): void {
    this.#entries.clear();
    this.#generation += 1;
  }
}
