/**
 * What text every store behind the ports holds as given. PostgreSQL text cannot hold U+0000
 * (SQLite can), and neither store holds a lone UTF-16 surrogate: it has no UTF-8 form, and it
 * comes back as U+FFFD (one on PostgreSQL, three on SQLite), so two values may come back as
 * one. Such text is bad input, refused where it enters (DESIGN invariant 8), never sent to the
 * store to fail there as an outage, or to be altered, on one store only.
 *
 * @module
 */

/** Text without U+0000: the pattern of every string of the API (`storableString`). */
export const NUL_FREE = /^[^\0]*$/;

/** Whether `value` holds no U+0000. */
export function isNulFree(value: string): boolean {
  return NUL_FREE.test(value);
}

/** Whether every UTF-16 surrogate of `value` is one half of a pair (`String#isWellFormed`). */
export function isWellFormedText(value: string): boolean {
  // With the `u` flag a pair reads as one code point, so only a lone half is a `Cs` code point.
  return !/\p{Cs}/u.test(value);
}
