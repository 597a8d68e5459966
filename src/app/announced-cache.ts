import type { Clock, Store, StoreChange } from "./ports.js";

/**
 * How long a value found in the store may serve without being read again: the bound on a change
 * made through another instance whose notice was lost. The same second as the rules and API-key
 * caches.
 */
const MAX_AGE_MS = 1000;

/** Only values worth keeping are kept; should there be more in use at once, it starts again. */
const MAX_ENTRIES = 10_000;

interface Entry<V> {
  readonly value: V;
  readonly loadedAt: number;
}

/** What an {@link AnnouncedCache} is dropped by, and what it keeps. */
export interface AnnouncedCacheOptions<V> {
  /** The kinds of change whose notice drops the tenant's entries (every entry without a tenant). */
  readonly droppedBy: readonly StoreChange["kind"][];
  /** Whether a loaded value is kept: a refusal (nothing found) is read again every time. */
  readonly keeps?: (value: V) => boolean;
}

/**
 * Values that requests read from the store, per tenant and key, cached per instance so that a
 * sign-in does not read them on every call. Every change of a kind in `droppedBy` announced
 * through the store, by this instance or another, drops the tenant's entries; the instance that
 * made the change may also drop them itself before answering ({@link forget}), so that the
 * change binds its very next request there even before its own notice comes back. Entries
 * expire after a second, so a lost notice never delays a change on another instance by more
 * than that, and a read that a drop overlapped is used by its request but never kept (it may
 * predate the change).
 */
export class AnnouncedCache<V> {
  readonly #clock: Clock;
  readonly #keeps: (value: V) => boolean;
  readonly #entries = new Map<string, Map<string, Entry<V>>>();
  readonly #unsubscribe: () => void;
  /** Counts drops, so that a read that overlapped one is not kept. */
  #generation = 0;
  #size = 0;

  constructor(store: Store, clock: Clock, options: AnnouncedCacheOptions<V>) {
    this.#clock = clock;
    this.#keeps = options.keeps ?? (() => true);
    const kinds = new Set(options.droppedBy);
    this.#unsubscribe = store.onChange((change) => {
      if (!kinds.has(change.kind)) return;
      if (change.tenant === undefined) this.#clear();
      else this.forget(change.tenant);
    });
  }

  /** The tenant's value under `key`: cached if read less than a second ago, else from `load`. */
  async get(tenant: string, key: string, load: () => Promise<V>): Promise<V> {
    const now = this.#clock.now().getTime();
    const cached = this.#entries.get(tenant)?.get(key);
    if (cached !== undefined && now - cached.loadedAt >= 0 && now - cached.loadedAt < MAX_AGE_MS) {
      return cached.value;
    }
    const generation = this.#generation;
    const value = await load();
    if (generation === this.#generation && this.#keeps(value)) this.#keep(tenant, key, value, now);
    return value;
  }

  /** Drops the tenant's entries: its next requests read the store. */
  forget(tenant: string): void {
    const entries = this.#entries.get(tenant);
    if (entries !== undefined) this.#size -= entries.size;
    this.#entries.delete(tenant);
    this.#generation += 1;
  }

  close(): void {
    this.#unsubscribe();
  }

  #keep(tenant: string, key: string, value: V, loadedAt: number): void {
    if (this.#size >= MAX_ENTRIES) {
      this.#entries.clear();
      this.#size = 0;
    }
    let entries = this.#entries.get(tenant);
    if (entries === undefined) {
      entries = new Map();
      this.#entries.set(tenant, entries);
    }
    if (!entries.has(key)) this.#size += 1;
    entries.set(key, { value, loadedAt });
  }

  #clear(): void {
    this.#entries.clear();
    this.#size = 0;
    this.#generation += 1;
  }
}
