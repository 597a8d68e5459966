import type { Repositories } from "../ports.js";
import type { IdpRecord, PrincipalRecord } from "../records.js";

/** A refusal of an IdP's answer by the principal's binding: its reason code and audit detail. */
export interface BindingRefusal {
  readonly reason: string;
  readonly detail: string;
}

/**
 * The refusal of an IdP's answer about a principal bound to another of the tenant's IdPs: its
 * reason code, and its detail in the audit event's words.
 */
export const IDP_NOT_BOUND = {
  reason: "federation.idp_not_bound",
  detail: "the principal this IdP named signs in at another of the tenant's IdPs",
} as const satisfies BindingRefusal;

/**
 * The refusal of an answer about a principal bound to this IdP id while it was registered with
 * another issuer or entity id: the subject named someone at that one, not necessarily here.
 */
export const IDP_REBOUND = {
  reason: "federation.idp_rebound",
  detail:
    "the principal was bound to this IdP while it was registered with another issuer or entity id; bind it again",
} as const satisfies BindingRefusal;

/**
 * The name under which `idp`'s subjects are unique: its issuer (OIDC Core §2: `sub` is unique
 * within its issuer) or its entity id (SAML Core §2.2.2: a NameID within its NameQualifier, the
 * IdP's entity id, which the verifier requires).
 */
export function issuerOf(idp: IdpRecord): string {
  return idp.protocol === "saml" ? idp.saml.entityId : idp.oidc.issuer;
}

/**
 * Whether `subject` names, in `tenant`, a principal bound to another of the tenant's IdPs than
 * `idp`. DESIGN invariant 9: a subject is an IdP's own name for someone, so a principal bound to
 * one IdP is signed in by that IdP's answers only. Read in the caller's transaction, with the
 * change it allows: an answer is judged by the binding as it stands when it is used, at the ACS
 * or callback and again when a held answer is claimed (the binding may change in between).
 */
export async function boundToAnotherIdp(
  r: Repositories,
  tenant: string,
  subject: string,
  idp: string,
): Promise<boolean> {
  const bound = (await r.principals.get(tenant, subject))?.idp;
  return bound !== undefined && bound !== idp;
}

/**
 * Why a principal bound as `binding` says may not be signed in by `idp` as registered now, if it
 * may not: bound to another of the tenant's IdPs ({@link IDP_NOT_BOUND}), or bound to this IdP id
 * while it was registered with another issuer or entity id, or with none recorded
 * ({@link IDP_REBOUND}), since a subject is unique only at the issuer that names it. An unbound
 * principal (or none) may be signed in by any of the tenant's IdPs. The one rule by which an
 * answer is judged ({@link bindingRefusal}) and by which a hosted flow chooses the IdPs it offers
 * a principal: an IdP whose answer must be refused is no way in. (The direct start, which needs
 * no credential, does not judge it: its answer would tell anyone how a principal is bound.)
 */
export function judgeBinding(
  binding: Pick<PrincipalRecord, "idp" | "idpIssuer"> | undefined,
  idp: IdpRecord,
): BindingRefusal | undefined {
  if (binding?.idp === undefined) return undefined;
  if (binding.idp !== idp.id) return IDP_NOT_BOUND;
  return binding.idpIssuer === issuerOf(idp) ? undefined : IDP_REBOUND;
}

/**
 * Why the principal `subject` names may not be signed in by an answer of `idp` as registered
 * now, if it may not ({@link judgeBinding}). Read in the caller's transaction, as
 * {@link boundToAnotherIdp} is. An answer verified under an earlier registration of the IdP
 * never gets this far when its registration changed: held answers and flows drop it by version.
 */
export async function bindingRefusal(
  r: Repositories,
  idp: IdpRecord,
  subject: string,
): Promise<BindingRefusal | undefined> {
  return judgeBinding(await r.principals.get(idp.tenant, subject), idp);
}
