import type { SamlRejection, SamlRejectionCode, Verified } from "../../app/federation/protocols.js";

export type SamlResult<T> = Verified<T, SamlRejection>;

/**
 * The longest `detail` kept. A detail names what was wrong in words of its own; where it names a
 * part of the response (an element, an algorithm), a sender could make that part long, and the
 * detail goes into the tenant's audit chain.
 */
const MAX_DETAIL = 200;

/**
 * A coded refusal; `detail` names what was wrong and never quotes the response (it is cut to
 * {@link MAX_DETAIL} characters whatever it holds). An error status also gives the IdP's status
 * codes and whether the IdP signed them.
 */
export function reject(
  code: SamlRejectionCode,
  detail: string,
  statusCodes?: readonly string[],
  statusSigned?: boolean,
): { readonly ok: false; readonly rejection: SamlRejection } {
  return {
    ok: false,
    rejection: {
      code,
      detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail,
      ...(statusCodes === undefined ? {} : { statusCodes }),
      ...(statusSigned === undefined ? {} : { statusSigned }),
    },
  };
}

export function accept<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}
