import { privateKeyContext } from "../assurance/signing-keys.js";
import { totpSecretContext } from "../authenticators/authenticators.js";
import { recordAudit, transact, type Context } from "../context.js";
import { clientSecretContext } from "../federation/endpoints.js";
import type { Repositories, SecretSealer } from "../ports.js";
import { openSealed } from "./open-sealed.js";

/** What a re-sealing run did, per kind of secret. */
export interface ResealReport {
  readonly tenants: number;
  readonly totpSecrets: number;
  readonly idpClientSecrets: number;
  /** Assurance-token signing keys: platform-wide, in no tenant. */
  readonly signingKeys: number;
}

/**
 * Re-seals every sealed secret (TOTP secrets, OIDC client secrets, the private keys of the
 * assurance-token signing keys) with `secrets`' current key: key rotation is to configure the new
 * key first, keep the old one to open with, run this, then drop the old key. One transaction per
 * tenant, and one for the signing keys (audited in the platform chain), with an audit event per
 * kind naming how many were re-sealed; the secrets never leave memory. A record changed
 * concurrently (compare-and-set) is left for the next run.
 */
export async function resealSecrets(
  context: Context,
  secrets: SecretSealer,
  actor: string,
): Promise<ResealReport> {
  const reseal = (sealed: string, where: string) =>
    secrets.seal(openSealed(secrets, sealed, where), where);
  let tenants = 0;
  let totpSecrets = 0;
  let idpClientSecrets = 0;
  let after: string | undefined;
  for (;;) {
    const page = await transact(context, (r) =>
      r.tenants.list({ ...(after === undefined ? {} : { after }), limit: 100 }),
    );
    for (const { id: tenant } of page.items) {
      const counts = await transact(context, async (r) => {
        const totp = await resealTotp(r, tenant, reseal);
        const idp = await resealIdpClientSecrets(r, tenant, reseal, actor, context);
        const audit = async (kind: string, count: number) => {
          if (count === 0) return;
          await recordAudit(context, r, {
            tenant,
            type: "secrets.resealed",
            actor,
            payload: { kind, count },
          });
        };
        await audit("totp", totp);
        await audit("idp_client_secret", idp);
        return { totp, idp };
      });
      tenants += 1;
      totpSecrets += counts.totp;
      idpClientSecrets += counts.idp;
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  const signingKeys = await transact(context, async (r) => {
    const count = await resealSigningKeys(r, reseal);
    if (count > 0) {
      await recordAudit(context, r, {
        tenant: null,
        type: "secrets.resealed",
        actor,
        payload: { kind: "signing_key", count },
      });
    }
    return count;
  });
  return { tenants, totpSecrets, idpClientSecrets, signingKeys };
}

type Reseal = (sealed: string, where: string) => string;

async function resealTotp(r: Repositories, tenant: string, reseal: Reseal): Promise<number> {
  let done = 0;
  for (const record of await r.authenticators.listTenant(tenant)) {
    const { principal, id, sealedSecret } = record;
    const sealed = reseal(sealedSecret, totpSecretContext(tenant, principal, id));
    if (await r.authenticators.reseal(tenant, principal, id, sealedSecret, sealed)) done += 1;
  }
  return done;
}

/** Every stored key, removed ones too: none is left sealed under a key that is to go. */
async function resealSigningKeys(r: Repositories, reseal: Reseal): Promise<number> {
  let done = 0;
  for (const { kid, sealedPrivateJwk } of await r.signingKeys.list()) {
    const sealed = reseal(sealedPrivateJwk, privateKeyContext(kid));
    if (await r.signingKeys.reseal(kid, sealedPrivateJwk, sealed)) done += 1;
  }
  return done;
}

/** A re-sealed client secret is a new version of the IdP's record, like any other change. */
async function resealIdpClientSecrets(
  r: Repositories,
  tenant: string,
  reseal: Reseal,
  actor: string,
  context: Context,
): Promise<number> {
  let done = 0;
  for (const idp of await r.idps.list(tenant)) {
    if (idp.protocol !== "oidc") continue;
    const sealedClientSecret = reseal(
      idp.oidc.sealedClientSecret,
      clientSecretContext(tenant, idp.id),
    );
    const next = {
      ...idp,
      oidc: { ...idp.oidc, sealedClientSecret },
      version: idp.version + 1,
      updatedAt: context.clock.now().toISOString(),
      updatedBy: actor,
    };
    if (await r.idps.put(next)) done += 1;
  }
  return done;
}
