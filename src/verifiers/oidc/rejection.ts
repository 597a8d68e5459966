import type { OidcRejection, OidcRejectionCode, Verified } from "../../app/federation/protocols.js";

/** What every step of this verifier returns: the value or a coded rejection. */
export type OidcOutcome<T> = Verified<T, OidcRejection>;

export function accept<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/**
 * A refusal with its stable code. `detail` is for the audit log: callers pass only what they
 * wrote themselves or ran through `describeUntrusted`, never a token, code or secret.
 */
export function reject(
  code: OidcRejectionCode,
  detail: string,
  error?: string,
): { readonly ok: false; readonly rejection: OidcRejection } {
  return { ok: false, rejection: error === undefined ? { code, detail } : { code, detail, error } };
}

/**
 * A short, printable rendering of a value the IdP or the token chose (an `alg`, an `error`), safe
 * to put in an audit line: no control characters to forge log lines, and a bounded length.
 */
export function describeUntrusted(value: unknown, maxLength = 64): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const printable = text.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > maxLength ? `${printable.slice(0, maxLength)}…` : printable;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
