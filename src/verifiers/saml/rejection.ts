import type { SamlRejection, SamlRejectionCode, Verified } from "../../app/federation/protocols.js";

export type SamlResult<T> = Verified<T, SamlRejection>;

/** A coded refusal; `detail` names what was wrong and never quotes the response. */
export function reject(
  code: SamlRejectionCode,
  detail: string,
  statusCodes?: readonly string[],
): { readonly ok: false; readonly rejection: SamlRejection } {
  return {
    ok: false,
    rejection: statusCodes === undefined ? { code, detail } : { code, detail, statusCodes },
  };
}

export function accept<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}
