import type { Caller } from "../application.js";

/**
 * The party accountable for a caller, for separation-of-duties checks: its key's holder, or the
 * key itself when none is named. Compared without case and width differences, so that a holder
 * typed twice as `Alice@Example.com` and `alice@example.com` is still one party. Upper case
 * first, then lower: lower case alone keeps `ß` apart from the `SS` it is written as in capitals
 * (`STRAUSS`, `Strauß`), and `σ` from the `ς` that ends a word.
 */
export function partyOf(caller: Pick<Caller, "id" | "holder">): string {
  return (caller.holder ?? caller.id)
    .normalize("NFKC")
    .toUpperCase()
    .toLowerCase()
    .normalize("NFKC");
}
