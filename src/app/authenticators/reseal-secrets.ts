import { recordAudit, transact, type Context } from "../context.js";
import type { SecretSealer } from "../ports.js";
import { totpSecretContext } from "./authenticators.js";

/** What a re-sealing run did. */
export interface ResealReport {
  readonly tenants: number;
  readonly resealed: number;
}

/**
 * Re-seals every TOTP secret with `secrets`' current key (key rotation: configure the new key
 * first, keep the old one to open with, run this, then drop the old key). One transaction per
 * tenant, with an audit event naming how many were re-sealed; the secrets never leave memory.
 * A secret changed concurrently (compare-and-set) is left for the next run.
 */
export async function resealTotpSecrets(
  context: Context,
  secrets: SecretSealer,
  actor: string,
): Promise<ResealReport> {
  let tenants = 0;
  let resealed = 0;
  let after: string | undefined;
  for (;;) {
    const page = await transact(context, (r) =>
      r.tenants.list({ ...(after === undefined ? {} : { after }), limit: 100 }),
    );
    for (const tenant of page.items) {
      const count = await transact(context, async (r) => {
        let done = 0;
        for (const record of await r.authenticators.listTenant(tenant.id)) {
          const where = totpSecretContext(record.tenant, record.principal, record.id);
          const sealed = secrets.seal(secrets.open(record.sealedSecret, where), where);
          const { tenant: t, principal, id } = record;
          if (await r.authenticators.reseal(t, principal, id, record.sealedSecret, sealed)) {
            done += 1;
          }
        }
        if (done > 0) {
          await recordAudit(context, r, {
            tenant: tenant.id,
            type: "authenticator.secrets_resealed",
            actor,
            payload: { kind: "totp", count: done },
          });
        }
        return done;
      });
      tenants += 1;
      resealed += count;
    }
    if (page.next === undefined) return { tenants, resealed };
    after = page.next;
  }
}
