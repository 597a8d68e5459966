import type { Store } from "../ports.js";

const TENANT_PAGE = 100;

/**
 * Whether `store` holds a secret sealed at rest: an assurance-token signing key, a TOTP secret or
 * an OIDC IdP's client secret (what `resealSecrets` re-seals). Asked only when a store's key is
 * about to be made anew, so it may read every tenant: a store that holds one was sealed with a
 * key that a new one would never open.
 */
export function holdsSealedSecrets(store: Store): Promise<boolean> {
  return store.read(async (r) => {
    if ((await r.signingKeys.list()).length > 0) return true;
    let after: string | undefined;
    do {
      const page = await r.tenants.list({
        ...(after === undefined ? {} : { after }),
        limit: TENANT_PAGE,
      });
      for (const { id } of page.items) {
        if ((await r.authenticators.listTenant(id)).length > 0) return true;
        if ((await r.idps.list(id)).some((idp) => idp.protocol === "oidc")) return true;
      }
      after = page.next;
    } while (after !== undefined);
    return false;
  });
}
