/**
 * 32 MiB: some 60 issuers whose document and key set are both at the 256 KiB limit, and
 * thousands of usual ones (a few KiB each).
 */
export const DEFAULT_CACHE_MAX_BYTES = 32 * 1024 * 1024;

/** What one cached entry costs besides its fetched body: its issuer and its bookkeeping. */
export const ENTRY_OVERHEAD_BYTES = 1024;

/** The cost of an issuer's entry whose fetched body was `bodyBytes` long. */
export function entryBytes(issuer: string, bodyBytes: number): number {
  // Strings may take two bytes a character.
  return ENTRY_OVERHEAD_BYTES + 2 * issuer.length + bodyBytes;
}

interface Held {
  readonly bytes: number;
  readonly evict: () => void;
}

/**
 * The bytes that the relying party's caches hold, discovery documents and key sets together,
 * with the least recently used entries evicted once they pass `maxBytes`: issuers come and go
 * with tenants' registrations, and without a bound every issuer ever met would stay in memory.
 * An evicted entry is simply fetched again at its next use. The map's insertion order is the
 * order of use: an entry used is moved to its end, and eviction starts at its front.
 */
export class CacheBudget {
  readonly #entries = new Map<string, Held>();
  #heldBytes = 0;

  constructor(readonly maxBytes: number) {}

  /** The bytes held now; at most `maxBytes` unless one entry alone is larger. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Holds `key` at `bytes` (again, if it was held), as the most recently used entry, and evicts
   * the least recently used others, calling their `evict`, until all fit within `maxBytes`.
   */
  hold(key: string, bytes: number, evict: () => void): void {
    this.release(key);
    this.#entries.set(key, { bytes, evict });
    this.#heldBytes += bytes;
    for (const [oldest, held] of this.#entries) {
      if (this.#heldBytes <= this.maxBytes || oldest === key) break;
      this.release(oldest);
      held.evict();
    }
  }

  /** Marks `key`, if held, as the most recently used entry. */
  touch(key: string): void {
    const held = this.#entries.get(key);
    if (held === undefined) return;
    this.#entries.delete(key);
    this.#entries.set(key, held);
  }

  /** Stops counting `key`, without calling its `evict`. */
  release(key: string): void {
    const held = this.#entries.get(key);
    if (held === undefined) return;
    this.#entries.delete(key);
    this.#heldBytes -= held.bytes;
  }
}
