import type { Clock, Store } from "../ports.js";
import type { ApiKeyRecord } from "../records.js";

/**
 * How long a key found in the store may authenticate without being read again: the bound on a
 * revocation made through another instance whose change notice was lost. The same second as the
 * rules cache, so that every change reaches every instance within it.
 */
const MAX_AGE_MS = 1000;

/** Keys in use at once are few; a flood of distinct valid keys only costs reloads. */
const MAX_ENTRIES = 10_000;

/**
 * API keys by secret hash, as authentication reads them, so that a request does not open a
 * transaction to authenticate. Only keys found are kept (an unknown key is read every time, so
 * a new key works at once). Every `api_key` change announced through the store, by this
 * instance or another, empties the cache; the revoking instance also empties it itself
 * before answering, so a revocation binds it at once even before its own notice comes back.
 */
export class ApiKeyCache {
  readonly #clock: Clock;
  readonly #keys = new Map<string, { readonly key: ApiKeyRecord; readonly loadedAt: number }>();
  readonly #unsubscribe: () => void;
  /** Counts clears, so that a read that overlapped one is not kept. */
  #generation = 0;

  constructor(store: Store, clock: Clock) {
    this.#clock = clock;
    this.#unsubscribe = store.onChange((change) => {
      if (change.kind === "api_key") this.clear();
    });
  }

  async get(
    secretHash: string,
    load: () => Promise<ApiKeyRecord | undefined>,
  ): Promise<ApiKeyRecord | undefined> {
    const now = this.#clock.now().getTime();
    const cached = this.#keys.get(secretHash);
    if (cached !== undefined && now - cached.loadedAt >= 0 && now - cached.loadedAt < MAX_AGE_MS) {
      return cached.key;
    }
    const generation = this.#generation;
    const key = await load();
    // A change announced while the key was read may have come after the read: keep nothing.
    if (key !== undefined && generation === this.#generation) {
      if (this.#keys.size >= MAX_ENTRIES) this.#keys.clear();
      this.#keys.set(secretHash, { key, loadedAt: now });
    } else {
      this.#keys.delete(secretHash);
    }
    return key;
  }

  /** Forgets every key: the next authentication of each reads the store. */
  clear(): void {
    this.#keys.clear();
    this.#generation += 1;
  }

  close(): void {
    this.#unsubscribe();
  }
}
