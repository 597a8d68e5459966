import { deepFreeze } from "../../core/input.js";
import type { PlatformMandate, TenantPolicy } from "../../core/policy.js";
import type { Clock, Store } from "../ports.js";
import type { MandateVersionRecord } from "../records.js";
import { mandatesInForce } from "../mandates/active-mandates.js";

/** How long a cached entry may serve without a change notice: the backstop if notices are lost. */
const MAX_AGE_MS = 1000;

interface Entry<T> {
  readonly value: T;
  readonly loadedAt: number;
}

/**
 * Tenant policies and mandates as decisions read them, cached per instance. Every change is
 * announced through the store to every instance, which drops the stale entry at once; entries
 * also expire after a second, so a lost notice never delays a mandate by more than that. A read
 * that a change notice overlapped is used by the decision that made it but never kept: what it
 * read may predate the change, and keeping it would make an emergency mandate wait for the
 * entry to age out.
 */
export class RulesCache {
  readonly #clock: Clock;
  readonly #policies = new Map<string, Entry<TenantPolicy | undefined>>();
  #mandates: Entry<readonly MandateVersionRecord[]> | undefined;
  /** Counts the notices of each kind, so that a read they overlapped is not kept. */
  #policyChanges = 0;
  #mandateChanges = 0;
  readonly #unsubscribe: () => void;

  constructor(store: Store, clock: Clock) {
    this.#clock = clock;
    this.#unsubscribe = store.onChange((change) => {
      if (change.kind === "mandate") {
        this.#mandates = undefined;
        this.#mandateChanges += 1;
      }
      if (change.kind === "policy") {
        if (change.tenant === undefined) this.#policies.clear();
        else this.#policies.delete(change.tenant);
        this.#policyChanges += 1;
      }
    });
  }

  async policy(
    tenant: string,
    load: () => Promise<TenantPolicy | undefined>,
  ): Promise<TenantPolicy | undefined> {
    const cached = this.#policies.get(tenant);
    if (cached !== undefined && this.#fresh(cached)) return cached.value;
    const changes = this.#policyChanges;
    const loadedAt = this.#clock.now().getTime();
    const loaded = await load();
    // Frozen, the engine checks each cached policy once instead of on every decision. A version
    // never changes once written: read again as the entry aged out, it is the policy already
    // held, whose object the engine knows (it prepared its rules once, by identity). Any change
    // is a new version, and its notice drops the entry first.
    const value =
      cached?.value !== undefined && loaded?.version === cached.value.version
        ? cached.value
        : deepFreeze(loaded);
    // No policy is not kept: creating a tenant announces no policy change, and a decision that
    // asked for it first must not refuse the new tenant until the entry ages out.
    if (changes === this.#policyChanges && value !== undefined) {
      this.#policies.set(tenant, { value, loadedAt });
    }
    return value;
  }

  async mandates(
    load: () => Promise<readonly MandateVersionRecord[]>,
  ): Promise<readonly PlatformMandate[]> {
    let entry = this.#mandates;
    if (entry === undefined || !this.#fresh(entry)) {
      const changes = this.#mandateChanges;
      const loadedAt = this.#clock.now().getTime();
      entry = { value: keepHeldVersions(entry?.value, await load()), loadedAt };
      if (changes === this.#mandateChanges) this.#mandates = entry;
    }
    return mandatesInForce(entry.value);
  }

  close(): void {
    this.#unsubscribe();
  }

  #fresh(entry: Entry<unknown>): boolean {
    const age = this.#clock.now().getTime() - entry.loadedAt;
    return age >= 0 && age < MAX_AGE_MS;
  }
}

/**
 * The mandates read again, frozen, each the record already held where its version is the same.
 * A version never changes once written (a change or a retirement is a new version, announced
 * first), and the engine prepares a tenant's rules once per set of mandate objects: new objects
 * on every reload would make it prepare every tenant's rules again after each second, which at
 * many tenants is nearly every decision.
 */
function keepHeldVersions(
  held: readonly MandateVersionRecord[] | undefined,
  loaded: readonly MandateVersionRecord[],
): readonly MandateVersionRecord[] {
  const byId = new Map(held?.map((record) => [record.id, record]));
  return Object.freeze(
    loaded.map((record) => {
      const known = byId.get(record.id);
      return known !== undefined &&
        known.version === record.version &&
        known.status === record.status
        ? known
        : deepFreeze(record);
    }),
  );
}
