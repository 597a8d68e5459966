import type { SamlRejection, SamlRejectionCode, Verified } from "../../app/federation/protocols.js";

export type SamlResult<T> = Verified<T, SamlRejection>;

/**
 * A coded refusal; `detail` names what was wrong and never quotes the response. An error status
 * also gives the IdP's status codes and whether the IdP signed them.
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
      detail,
      ...(statusCodes === undefined ? {} : { statusCodes }),
      ...(statusSigned === undefined ? {} : { statusSigned }),
    },
  };
}

export function accept<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}
