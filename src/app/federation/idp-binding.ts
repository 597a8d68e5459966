import type { Repositories } from "../ports.js";

/**
 * The refusal of an IdP's answer about a principal bound to another of the tenant's IdPs: its
 * reason code, and its detail in the audit event's words.
 */
export const IDP_NOT_BOUND = {
  reason: "federation.idp_not_bound",
  detail: "the principal this IdP named signs in at another of the tenant's IdPs",
} as const;

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
