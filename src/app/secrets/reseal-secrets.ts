import { privateKeyContext, readEverySigningKey } from "../assurance/signing-keys.js";
import { totpSecretContext } from "../authenticators/authenticators.js";
import {
  enrolmentTtlSeconds,
  lapsedEnrolmentsBegunBy,
} from "../authenticators/pending-enrolments.js";
import { recordAudit, transact, type Context } from "../context.js";
import { clientSecretContext, codeVerifierContext } from "../federation/endpoints.js";
import { sha256 } from "../flows/flow-records.js";
import type { Repositories, SealedSecretKind, SecretSealer } from "../ports.js";

/**
 * A sealed value that no configured key opens (its key is gone, or the stored value was altered),
 * named by where it is: never by its value, which is unknown.
 */
export interface UnopenedSecret {
  readonly kind: SealedSecretKind;
  /** Its tenant; none for a signing key. */
  readonly tenant?: string;
  /** A TOTP authenticator's principal. */
  readonly principal?: string;
  /**
   * The TOTP authenticator's or the IdP's id, the SHA-256 (hex) of the pending sign-in's id (its
   * OIDC state), or the signing key's kid.
   */
  readonly id: string;
  /** When a pending sign-in expires: its verifier is never opened after, and needs no key then. */
  readonly expiresAt?: string;
}

/** What a re-sealing run did, per kind of secret. */
export interface ResealReport {
  readonly tenants: number;
  readonly totpSecrets: number;
  readonly idpClientSecrets: number;
  /** The PKCE verifiers of the OIDC sign-ins under way (neither answered nor expired). */
  readonly pkceVerifiers: number;
  /** Assurance-token signing keys: platform-wide, in no tenant. */
  readonly signingKeys: number;
  /**
   * The TOTP enrolments past their time (on every instance) whose secrets were left as they
   * were, not re-sealed: never confirmed, never opened again, and purged (their key is not
   * needed for them). Only when there is one.
   */
  readonly expiredTotpEnrolments?: number;
  /**
   * The values that could not be opened, left exactly as they were, in the order met; only when
   * there is one. Until each is replaced (or, for a pending sign-in, has expired), the key that
   * sealed it must stay configured, or the server refuses to start.
   */
  readonly unopened?: readonly UnopenedSecret[];
}

/**
 * Re-seals every sealed secret (TOTP secrets but those of enrolments past their time, which are
 * counted in `expiredTotpEnrolments` instead, OIDC client secrets, the PKCE verifiers of the OIDC
 * sign-ins under way, the private keys of the assurance-token signing keys) with `secrets`'
 * current key: key rotation is to configure the new key first, keep the old one to open with, run
 * this, then drop the old key. One transaction per tenant, one per tenant with sign-ins under way,
 * and one for the signing keys (audited in the platform chain), with an audit event per kind
 * naming how many were re-sealed; the secrets never leave memory. A run that could not open
 * some value records `secrets.reseal_incomplete` in the platform chain, in that last
 * transaction, naming each by kind and id. A record changed concurrently
 * (compare-and-set) is left for the next run; a sign-in answered meanwhile needs nothing more.
 *
 * A value that no configured key opens is left as it is and listed in `unopened`, and the run
 * goes on: every other value is re-sealed. Re-sealing the others loses nothing (each still
 * opens, with the new key), and writing none of them would let one altered value hold every
 * secret under a key that is to go, compromised perhaps; the one that does not open is lost
 * already, unless its key is restored, which finds it as it was.
 */
export async function resealSecrets(
  context: Context,
  secrets: SecretSealer,
  actor: string,
): Promise<ResealReport> {
  const unopened: UnopenedSecret[] = [];
  const reseal: Reseal = (sealed, where, what) => {
    let secret: string;
    try {
      secret = secrets.open(sealed, where);
    } catch {
      unopened.push(what);
      return undefined;
    }
    return secrets.seal(secret, where);
  };
  // A signing-key row that is not JSON (altered outside the service) stops the run at its last
  // transaction: checked first, so that such a run re-seals nothing rather than every tenant's
  // secrets and then refuses (`store.record_damaged`, naming every such row).
  await transact(context, (r) => readEverySigningKey(r, RESEAL_REFUSED));
  let tenants = 0;
  let totpSecrets = 0;
  let expiredTotpEnrolments = 0;
  const lapsedBy = lapsedEnrolmentsBegunBy(
    enrolmentTtlSeconds(context),
    context.clock.now(),
  ).toISOString();
  let idpClientSecrets = 0;
  let after: string | undefined;
  for (;;) {
    const page = await transact(context, (r) =>
      r.tenants.list({ ...(after === undefined ? {} : { after }), limit: 100 }),
    );
    for (const { id: tenant } of page.items) {
      const counts = await transact(context, async (r) => {
        const totp = await resealTotp(r, tenant, reseal, lapsedBy);
        const idp = await resealIdpClientSecrets(r, tenant, reseal);
        await audited(context, r, tenant, actor, "totp", totp.resealed);
        await audited(context, r, tenant, actor, "idp_client_secret", idp);
        return { totp, idp };
      });
      tenants += 1;
      totpSecrets += counts.totp.resealed;
      expiredTotpEnrolments += counts.totp.expired;
      idpClientSecrets += counts.idp;
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  const pkceVerifiers = await resealPkceVerifiers(context, reseal, actor);
  // The last transaction, when every value has been met: what did not open is recorded with it.
  const signingKeys = await transact(context, async (r) => {
    const count = await resealSigningKeys(r, reseal);
    await audited(context, r, null, actor, "signing_key", count);
    await auditedIncomplete(context, r, actor, unopened);
    return count;
  });
  const report = {
    tenants,
    totpSecrets,
    idpClientSecrets,
    pkceVerifiers,
    signingKeys,
    ...(expiredTotpEnrolments === 0 ? {} : { expiredTotpEnrolments }),
  };
  return unopened.length === 0 ? report : { ...report, unopened };
}

/** What a damaged signing-key row refuses, in its error's words. */
const RESEAL_REFUSED = "Nothing is re-sealed";

/** `sealed` (opened with context `where`) sealed with the current key; none when it does not open. */
type Reseal = (sealed: string, where: string, what: UnopenedSecret) => string | undefined;

/** Records that `count` secrets of `kind` were re-sealed in `tenant`'s chain (null: the platform's). */
async function audited(
  context: Context,
  r: Repositories,
  tenant: string | null,
  actor: string,
  kind: string,
  count: number,
): Promise<void> {
  if (count === 0) return;
  await recordAudit(context, r, {
    tenant,
    type: "secrets.resealed",
    actor,
    payload: { kind, count },
  });
}

/** At most this many unopened values are named in one `secrets.reseal_incomplete` event. */
const UNOPENED_AUDITED = 1000;

/**
 * Records, in the platform chain, that the run could not open `unopened` (none: nothing): an
 * auditor sees that a rotation was left incomplete, and which values still hold the old key,
 * by kind and id (never a value). The first {@link UNOPENED_AUDITED} are named, with the count
 * of all: a store sealed wholly under a key not given would otherwise make one event of every
 * TOTP secret.
 */
async function auditedIncomplete(
  context: Context,
  r: Repositories,
  actor: string,
  unopened: readonly UnopenedSecret[],
): Promise<void> {
  if (unopened.length === 0) return;
  await recordAudit(context, r, {
    tenant: null,
    type: "secrets.reseal_incomplete",
    actor,
    payload: { count: unopened.length, unopened: unopened.slice(0, UNOPENED_AUDITED) },
  });
}

/**
 * The PKCE verifiers of the OIDC sign-ins pending now (no other is ever opened), one transaction
 * per tenant holding any. Each is a compare-and-set on the request still pending and still
 * holding the sealed value read: a sign-in answered (or purged) meanwhile is left as it is, never
 * made pending again, and its callback opened the old value with the old key, still configured;
 * one answered afterwards opens the new value.
 */
async function resealPkceVerifiers(
  context: Context,
  reseal: Reseal,
  actor: string,
): Promise<number> {
  const pending = await transact(context, (r) =>
    r.federationRequests.listPending(context.clock.now().toISOString()),
  );
  const byTenant = new Map<string, { id: string; sealed: string; expiresAt: string }[]>();
  for (const { tenant, id, sealedCodeVerifier, expiresAt } of pending) {
    if (sealedCodeVerifier === undefined) continue;
    const requests = byTenant.get(tenant) ?? [];
    requests.push({ id, sealed: sealedCodeVerifier, expiresAt });
    byTenant.set(tenant, requests);
  }
  let done = 0;
  for (const [tenant, requests] of byTenant) {
    done += await transact(context, async (r) => {
      let count = 0;
      for (const { id, sealed, expiresAt } of requests) {
        // Named by the SHA-256 of its id, which is the sign-in's OIDC state (never logged, as
        // the damaged-row naming does): the report is printed and audited.
        const what = { kind: "pkce_verifier", tenant, id: sha256(id), expiresAt } as const;
        const resealed = reseal(sealed, codeVerifierContext(id), what);
        if (resealed === undefined) continue;
        if (await r.federationRequests.resealCodeVerifier(id, sealed, resealed)) count += 1;
      }
      await audited(context, r, tenant, actor, "pkce_verifier", count);
      return count;
    });
  }
  return done;
}

/**
 * The tenant's TOTP secrets, but those of enrolments begun by `lapsedBy` (past their time on
 * every instance: never opened again, and purged), which are counted as `expired` and left as
 * they are: neither re-sealed nor, when no key opens them, reported as unopened.
 */
async function resealTotp(
  r: Repositories,
  tenant: string,
  reseal: Reseal,
  lapsedBy: string,
): Promise<{ resealed: number; expired: number }> {
  let done = 0;
  let expired = 0;
  for (const record of await r.authenticators.listTenant(tenant)) {
    const { principal, id, sealedSecret } = record;
    if (record.status === "pending" && Date.parse(record.createdAt) <= Date.parse(lapsedBy)) {
      expired += 1;
      continue;
    }
    const sealed = reseal(sealedSecret, totpSecretContext(tenant, principal, id), {
      kind: "totp_secret",
      tenant,
      principal,
      id,
    });
    if (sealed === undefined) continue;
    if (await r.authenticators.reseal(tenant, principal, id, sealedSecret, sealed)) done += 1;
  }
  return { resealed: done, expired };
}

/**
 * Every stored key, removed ones too: none is left sealed under a key that is to go. A withdrawn
 * key holds nothing sealed. A row whose stored text is not JSON answers `store.record_damaged`,
 * naming every such row, and none is re-sealed.
 */
async function resealSigningKeys(r: Repositories, reseal: Reseal): Promise<number> {
  let done = 0;
  const keys = await readEverySigningKey(r, RESEAL_REFUSED);
  for (const { kid, sealedPrivateJwk } of keys) {
    if (sealedPrivateJwk === undefined) continue;
    const sealed = reseal(sealedPrivateJwk, privateKeyContext(kid), {
      kind: "signing_key",
      id: kid,
    });
    if (sealed === undefined) continue;
    if (await r.signingKeys.reseal(kid, sealedPrivateJwk, sealed)) done += 1;
  }
  return done;
}

/**
 * A re-sealed client secret keeps the IdP's registration at its version: the registration is
 * unchanged, only the key sealing its secret is. A new version would be a new registration to
 * every proof the IdP gave (a browser session's, an answer held on a flow: each counts only
 * while the version that produced it is current), and a routine key rotation would send every
 * user back to the IdP, refusing the answers under way. Audited per tenant (`secrets.resealed`).
 */
async function resealIdpClientSecrets(
  r: Repositories,
  tenant: string,
  reseal: Reseal,
): Promise<number> {
  let done = 0;
  for (const idp of await r.idps.list(tenant)) {
    if (idp.protocol !== "oidc") continue;
    const sealedClientSecret = reseal(
      idp.oidc.sealedClientSecret,
      clientSecretContext(tenant, idp.id),
      { kind: "idp_client_secret", tenant, id: idp.id },
    );
    if (sealedClientSecret === undefined) continue;
    if (await r.idps.resealClientSecret(idp, sealedClientSecret)) done += 1;
  }
  return done;
}
