import { isNulFree, isWellFormedText } from "../storable-text.js";

/**
 * The longest value, in UTF-16 code units as the API counts them, that a verifier hands on for
 * the federation use cases to record (the principal of a receipt, the IdP's values kept verbatim
 * in it, the one-time proof key, drift observations, audit events). A verifier refuses an answer
 * with a longer one: a signature says who sent a value, not that it is fit to keep.
 */
export const RECORDED_VALUE_LIMITS = {
  /** Who signed in: the NameID, the configured subject attribute, `sub` or the subject claim. */
  subject: 1024,
  /**
   * A value naming a context, a method, a format or an answer of the IdP's: an
   * `AuthnContextClassRef`, `acr`, an `amr` value, the NameID `Format`, the assertion `ID`,
   * the `SessionIndex`.
   */
  value: 512,
} as const;

/** One value of an IdP's answer that would be recorded; `value` undefined: absent. */
export interface RecordedValue {
  /** How the audit detail names it: `sub`, `amr[1]`, `the NameID Format`. */
  readonly name: string;
  readonly value: string | undefined;
  readonly maxLength: number;
}

/**
 * What makes the first of `values` unfit to record as the IdP gave it, as an audit detail that
 * names the value and never quotes it, or `undefined` when all can be recorded: U+0000 or a
 * lone UTF-16 surrogate, which the stores cannot hold as given (see `storable-text.ts`), or a
 * length beyond the value's `maxLength`.
 */
export function findUnrecordableValue(values: readonly RecordedValue[]): string | undefined {
  for (const { name, value, maxLength } of values) {
    if (value === undefined) continue;
    if (!isNulFree(value)) return `${name} holds U+0000 (NUL)`;
    if (!isWellFormedText(value)) return `${name} holds a lone UTF-16 surrogate`;
    if (value.length > maxLength) return `${name} is longer than ${maxLength} characters`;
  }
  return undefined;
}
