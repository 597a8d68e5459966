import { mandateEscapedByMove } from "../../core/mandate-scope.js";
import { POPULATIONS, isOneOf, type Population } from "../../core/vocabulary.js";
import { authorize } from "../access/permissions.js";
import type { Application, Caller } from "../application.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { PrincipalRecord } from "../records.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";
import { mandatesInForce } from "../mandates/active-mandates.js";
import { sharedLoginSweep } from "../exemptions/exemptions.js";
import { issuerOf } from "../federation/idp-binding.js";

/**
 * Principals: registered and updated by tenant administrators, read by the tenant's roles. Only
 * a platform administrator moves someone out of the reach of a mandate that binds them.
 */
export function principalUseCases(context: Context): Application["principals"] {
  return {
    async upsert(caller, tenant, id, input) {
      authorize(caller, "principal.write", tenant);
      if (!isOneOf(POPULATIONS, input.population))
        throw new AppError("request.invalid", "population is unknown.");
      if (input.rebind !== undefined && (input.idp === undefined || input.idp === null))
        throw new AppError("request.invalid", "rebind needs idp naming the IdP to bind to.");
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        // A first registration racing another one finds no row to hold: if the other commits
        // first, this one goes on as an update of what it wrote (held then), never over it.
        for (let attempt = 0; attempt < 2; attempt++) {
          const record = await upsertHeld(r, caller, tenant, id, input, context);
          if (record !== undefined) return record;
        }
        throw new AppError("store.unavailable", "The principal kept changing under this request.");
      });
    },
    async get(caller, tenant, id) {
      authorize(caller, "principal.read", tenant);
      const record = await transact(context, (r) => r.principals.get(tenant, id));
      if (record === undefined) throw new AppError("not_found");
      return record;
    },
    async list(caller, tenant, page) {
      authorize(caller, "principal.read", tenant);
      return transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.principals.list(tenant, {
          ...(page.after === undefined ? {} : { after: page.after }),
          limit: pageLimit(page.limit),
        });
      });
    },
  };
}

/**
 * Registers or updates principal `id` as `input` says, its row held (an update built on what it
 * read cannot undo a change committed meanwhile), and audits it; undefined when it found no row
 * to hold and another request registered the principal before it could (the caller reads again).
 */
async function upsertHeld(
  r: Repositories,
  caller: Caller,
  tenant: string,
  id: string,
  input: Parameters<Application["principals"]["upsert"]>[3],
  context: Context,
): Promise<PrincipalRecord | undefined> {
  const existing = await r.principals.hold(tenant, id);
  if (existing?.population !== input.population)
    await refuseEscapeFromMandates(r, caller, tenant, existing, input.population, context);
  // A mark that no exemption can get around would be worth little if the administrator who asks
  // for exemptions could lift it: that is the platform's call (seed 001).
  const sharedLogin = input.sharedLogin ?? existing?.sharedLogin === true;
  // Moving a shared login out of interactive MFA (a guest, a token-based integration) would lift
  // the mark's effect without lifting the mark.
  const outOfMfa = input.population === "guest" || input.population === "integration";
  if (
    existing?.sharedLogin === true &&
    (!sharedLogin || (outOfMfa && existing.population !== input.population)) &&
    !caller.roles.includes("platform_admin")
  ) {
    throw new AppError("principal.shared_login_locked");
  }
  const binding = await bindingAfter(r, tenant, existing, input.idp, input.rebind === true);
  const idp = binding?.idp;
  const now = context.clock.now().toISOString();
  const record: PrincipalRecord = {
    tenant,
    id,
    population: input.population,
    ...(input.externalId === undefined ? {} : { externalId: input.externalId }),
    ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
    ...(sharedLogin ? { sharedLogin: true as const } : {}),
    ...(binding === undefined ? {} : binding),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    // Not the caller's to set: kept as stored (the upsert leaves it anyway).
    ...(existing?.proofsWithdrawnAt === undefined
      ? {}
      : { proofsWithdrawnAt: existing.proofsWithdrawnAt }),
    ...(existing?.proofsWithdrawnSeq === undefined
      ? {}
      : { proofsWithdrawnSeq: existing.proofsWithdrawnSeq }),
  };
  if (existing !== undefined) await r.principals.upsert(record);
  else if (!(await r.principals.insert(record))) return undefined;
  // An exemption approved before the mark would otherwise stay approved on a shared login.
  const revoked =
    sharedLogin && existing !== undefined && existing.sharedLogin !== true
      ? await sharedLoginSweep.revokeRows(context, r, caller, tenant, id)
      : [];
  await recordAudit(context, r, {
    tenant,
    type: existing === undefined ? "principal.registered" : "principal.updated",
    actor: caller.id,
    payload: {
      id,
      population: record.population,
      previousPopulation: existing?.population ?? null,
      sharedLogin,
      ...(sharedLogin === (existing?.sharedLogin === true)
        ? {}
        : { previousSharedLogin: existing?.sharedLogin === true }),
      idp: idp ?? null,
      ...(idp === existing?.idp ? {} : { previousIdp: existing?.idp ?? null }),
      ...(binding?.idpIssuer === undefined ? {} : { idpIssuer: binding.idpIssuer }),
      ...(idp === undefined || binding?.idpIssuer === existing?.idpIssuer
        ? {}
        : { previousIdpIssuer: existing?.idpIssuer ?? null }),
      ...(revoked.length === 0 ? {} : { revokedExemptions: revoked.map((e) => e.id) }),
    },
  });
  await sharedLoginSweep.audit(context, r, caller, revoked);
  r.changes.announce({ kind: "principal", tenant });
  return record;
}

/**
 * The IdP the principal is bound to after the update, with the issuer or entity id it is bound
 * at: `requested` when given (null: none), bound at the IdP's issuer as registered now; else the
 * binding as it stood, issuer included (an update of other fields rebinds nothing). Naming the
 * IdP the principal is bound to already keeps the binding as made unless `rebind` asks otherwise:
 * a provisioning sync sends the whole record on every run, and would otherwise rebind everyone
 * at whatever issuer the IdP was pointed at meanwhile. A new binding must name an IdP the tenant
 * has.
 */
async function bindingAfter(
  r: Repositories,
  tenant: string,
  existing: PrincipalRecord | undefined,
  requested: string | null | undefined,
  rebind: boolean,
): Promise<Pick<PrincipalRecord, "idp" | "idpIssuer"> | undefined> {
  const kept =
    existing?.idp === undefined
      ? undefined
      : {
          idp: existing.idp,
          ...(existing.idpIssuer === undefined ? {} : { idpIssuer: existing.idpIssuer }),
        };
  if (requested === undefined) return kept;
  if (requested === null) return undefined;
  if (requested === existing?.idp && !rebind) return kept;
  const idp = await r.idps.get(tenant, requested);
  if (idp !== undefined) return { idp: requested, idpIssuer: issuerOf(idp) };
  throw new AppError("request.invalid", `The tenant has no IdP "${requested}" to bind to.`);
}

/**
 * A mandate binds by tenant and population, and some populations are out of every rule (a guest
 * always, an integration signing in with a token). Moving one of the people a mandate binds (its
 * window open or still to come) where it does not reliably reach would excuse them for good,
 * with no approver and no expiry, whether or not the mandate can be exempted: an exemption is
 * bounded and approved by someone other than who asks for it. Registering as such someone the
 * platform may have been deciding as a person would do the same for a mandate that cannot be
 * exempted. Only a platform administrator may, and the audit event names who did.
 */
async function refuseEscapeFromMandates(
  r: Repositories,
  caller: Caller,
  tenant: string,
  existing: PrincipalRecord | undefined,
  population: Population,
  context: Context,
): Promise<void> {
  if (caller.roles.includes("platform_admin")) return;
  const mandates = mandatesInForce(await r.mandates.listCurrent());
  const escaped = mandateEscapedByMove(
    mandates,
    tenant,
    existing?.population,
    population,
    context.clock.now().getTime(),
  );
  if (escaped !== undefined) {
    const excused = escaped.exemptible
      ? "can be excused only by an exemption"
      : "cannot be exempted";
    throw new AppError(
      "principal.population_locked",
      `Mandate ${escaped.id} binds this principal and ${excused}, and would not reliably bind it as ${population}: only a platform administrator can make this change.`,
    );
  }
}
