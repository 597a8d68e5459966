import type { RegistrationsServed } from "./registrations-served.js";
import { within } from "./within.js";

/**
 * The most issuers whose last key-set fetch is remembered at once. An issuer's is kept only for
 * its cooldown (30 s by default), so this many would have to be fetched within one cooldown
 * before the oldest is forgotten early; each costs its issuer (at most 2048 characters, as
 * registered) and a few numbers, some 17 MiB at most, far less with usual issuers.
 */
export const MAX_ISSUERS_COOLING_DOWN = 4096;

/** An issuer's last key-set fetch. */
export interface LastKeySetFetch {
  /** When it started. */
  readonly at: number;
  /** The registration versions the issuer's key set has been fetched for, this fetch's too. */
  readonly served: RegistrationsServed;
}

/**
 * Each issuer's last key-set fetch, for `keepMs` after it started (the refetch cooldown). Kept
 * apart from the cached key sets, which the byte budget evicts, so that pushing an issuer out of
 * the cache (signing in at many large issuers) ends neither its refetch cooldown for unknown
 * `kid`s nor the spacing of its fetches while it is not cached. Bounded by count, not bytes: a
 * fetch is forgotten once `keepMs` is over, and the oldest one past `maxIssuers`. The map's
 * insertion order is the order of the fetches, oldest first.
 */
export class KeySetFetches {
  readonly #last = new Map<string, LastKeySetFetch>();

  constructor(
    readonly keepMs: number,
    readonly maxIssuers: number,
    readonly clock: () => number,
  ) {}

  /** How many issuers' fetches are remembered now: at most `maxIssuers`. */
  get size(): number {
    return this.#last.size;
  }

  /** The issuer's last fetch, if it started less than `keepMs` ago. */
  recent(issuer: string): LastKeySetFetch | undefined {
    const last = this.#last.get(issuer);
    if (last === undefined || within(this.clock(), last.at, this.keepMs)) return last;
    this.#last.delete(issuer);
    return undefined;
  }

  /** Remembers a fetch of the issuer's key set starting now, with the versions it serves. */
  start(issuer: string, served: RegistrationsServed): LastKeySetFetch {
    const now = this.clock();
    const fetch: LastKeySetFetch = { at: now, served };
    this.#last.delete(issuer);
    this.#last.set(issuer, fetch);
    for (const [oldest, last] of this.#last) {
      if (this.#last.size <= this.maxIssuers && within(now, last.at, this.keepMs)) break;
      this.#last.delete(oldest);
    }
    return fetch;
  }
}
