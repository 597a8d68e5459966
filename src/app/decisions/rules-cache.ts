import { deepFreeze } from "../../core/input.js";
import type { PlatformMandate, TenantPolicy } from "../../core/policy.js";
import type { Clock, Store } from "../ports.js";
import type { MandateVersionRecord } from "../records.js";

/** How long a cached entry may serve without a change notice: the backstop if notices are lost. */
const MAX_AGE_MS = 1000;

interface Entry<T> {
  readonly value: T;
  readonly loadedAt: number;
}

/**
 * Tenant policies and mandates as decisions read them, cached per instance. Every change is
 * announced through the store to every instance, which drops the stale entry at once; entries
 * also expire after a second, so a lost notice never delays a mandate by more than that.
 */
export class RulesCache {
  readonly #clock: Clock;
  readonly #policies = new Map<string, Entry<TenantPolicy | undefined>>();
  #mandates: Entry<readonly MandateVersionRecord[]> | undefined;
  readonly #unsubscribe: () => void;

  constructor(store: Store, clock: Clock) {
    this.#clock = clock;
    this.#unsubscribe = store.onChange((change) => {
      if (change.kind === "mandate") this.#mandates = undefined;
      if (change.kind === "policy") {
        if (change.tenant === undefined) this.#policies.clear();
        else this.#policies.delete(change.tenant);
      }
    });
  }

  async policy(
    tenant: string,
    load: () => Promise<TenantPolicy | undefined>,
  ): Promise<TenantPolicy | undefined> {
    const cached = this.#policies.get(tenant);
    if (cached !== undefined && this.#fresh(cached)) return cached.value;
    // Frozen, the engine checks each cached policy once instead of on every decision.
    const value = deepFreeze(await load());
    this.#policies.set(tenant, { value, loadedAt: this.#clock.now().getTime() });
    return value;
  }

  async mandates(
    load: () => Promise<readonly MandateVersionRecord[]>,
  ): Promise<readonly PlatformMandate[]> {
    if (this.#mandates === undefined || !this.#fresh(this.#mandates)) {
      this.#mandates = { value: deepFreeze(await load()), loadedAt: this.#clock.now().getTime() };
    }
    return this.#mandates.value.filter((r) => r.status === "active").map((r) => r.mandate);
  }

  close(): void {
    this.#unsubscribe();
  }

  #fresh(entry: Entry<unknown>): boolean {
    const age = this.#clock.now().getTime() - entry.loadedAt;
    return age >= 0 && age < MAX_AGE_MS;
  }
}
