import { deepFreeze } from "../../core/input.js";
import { AnnouncedCache } from "../announced-cache.js";
import type { Clock, Repositories, Store } from "../ports.js";
import type { IdpRecord } from "../records.js";

/** What a sign-in at a tenant's IdP is planned and checked with, besides its own request. */
export interface SignInSettings {
  readonly idp: IdpRecord;
  /** The tenant's registered return URLs (DESIGN invariant 10). */
  readonly returnUrls: readonly string[];
}

/**
 * Each tenant's IdP registrations and return URLs as sign-ins read them, cached per instance so
 * that starting a sign-in and receiving its answer do not each read the tenant and the IdP
 * ({@link AnnouncedCache}: dropped on every `idp` and `tenant` notice, so a removed IdP or return
 * URL stops at once on every instance that hears it, and within a second on one that does not).
 * An unknown tenant or IdP is never kept: it is read again on every attempt.
 */
export class SignInSettingsCache extends AnnouncedCache<SignInSettings | undefined> {
  constructor(store: Store, clock: Clock) {
    super(store, clock, { droppedBy: ["idp", "tenant"], keeps: (value) => value !== undefined });
  }

  /** The IdP `idp` of `tenant` and the tenant's return URLs, or undefined if either is unknown. */
  settings(r: Repositories, tenant: string, idp: string): Promise<SignInSettings | undefined> {
    return this.get(tenant, idp, async () => {
      const [record, owner] = await Promise.all([r.idps.get(tenant, idp), r.tenants.get(tenant)]);
      // Frozen: one object serves every sign-in until it is dropped.
      return record === undefined || owner === undefined
        ? undefined
        : deepFreeze({ idp: record, returnUrls: owner.returnUrls });
    });
  }
}
