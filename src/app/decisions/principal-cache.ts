import { deepFreeze } from "../../core/input.js";
import type { Clock, Store } from "../ports.js";
import type { ExemptionRecord, PrincipalRecord } from "../records.js";

/** How long an entry may serve without a change notice, as for the rules cache. */
const MAX_AGE_MS = 1000;

/** Entries kept at most; beyond that the cache starts over rather than grow without bound. */
const MAX_ENTRIES = 100_000;

/** What a decision reads about its principal: the registration and the exemptions active. */
export interface PrincipalStanding {
  readonly principal: PrincipalRecord | undefined;
  readonly exemptions: readonly ExemptionRecord[];
}

interface Entry {
  readonly value: PrincipalStanding;
  readonly loadedAt: number;
}

/**
 * Principals and their active exemptions as decisions read them, cached per instance like the
 * rules: a principal or exemption change announced through the store drops the tenant's entries
 * at once on every instance, and an entry serves for a second at most, the bound if a notice is
 * lost. Serving an entry for up to a second can only make a decision stricter: the engine checks
 * every exemption's window again at the decision's own instant, so one that expired meanwhile
 * is not used, and one that started meanwhile is missed until the reload.
 */
export class PrincipalCache {
  readonly #clock: Clock;
  readonly #tenants = new Map<string, Map<string, Entry>>();
  readonly #unsubscribe: () => void;
  #size = 0;
  /** Counts invalidations, so that a load that overlapped one is not kept. */
  #generation = 0;

  constructor(store: Store, clock: Clock) {
    this.#clock = clock;
    this.#unsubscribe = store.onChange((change) => {
      if (change.kind !== "principal" && change.kind !== "exemption") return;
      this.#generation += 1;
      if (change.tenant === undefined) {
        this.#tenants.clear();
        this.#size = 0;
      } else {
        this.#size -= this.#tenants.get(change.tenant)?.size ?? 0;
        this.#tenants.delete(change.tenant);
      }
    });
  }

  async standing(
    tenant: string,
    principal: string,
    load: () => Promise<PrincipalStanding>,
  ): Promise<PrincipalStanding> {
    const now = this.#clock.now().getTime();
    const cached = this.#tenants.get(tenant)?.get(principal);
    if (cached !== undefined && now - cached.loadedAt >= 0 && now - cached.loadedAt < MAX_AGE_MS) {
      return cached.value;
    }
    const generation = this.#generation;
    const value = deepFreeze(await load());
    if (generation === this.#generation) this.#keep(tenant, principal, { value, loadedAt: now });
    return value;
  }

  close(): void {
    this.#unsubscribe();
  }

  #keep(tenant: string, principal: string, entry: Entry): void {
    if (this.#size >= MAX_ENTRIES) {
      this.#tenants.clear();
      this.#size = 0;
    }
    let principals = this.#tenants.get(tenant);
    if (principals === undefined) {
      principals = new Map();
      this.#tenants.set(tenant, principals);
    }
    if (!principals.has(principal)) this.#size += 1;
    principals.set(principal, entry);
  }
}
