import type { Caller } from "../application.js";

/**
 * The party accountable for a caller, for separation-of-duties checks: its key's holder, or the
 * key itself when none is named. Compared without case and width differences, so that a holder
 * typed twice as `Alice@Example.com` and `alice@example.com` is still one party. Lower case,
 * then upper, then lower: lower case alone keeps `ß` apart from the `SS` it is written as in
 * capitals (`STRAUSS`, `Strauß`), and `σ` from the `ς` that ends a word; the lower case taken
 * first brings the capital `ẞ` (`STRAUẞ`, German orthography since 2017), which upper case keeps,
 * to the `ß` that upper case then writes `SS`.
 */
export function partyOf(caller: Pick<Caller, "id" | "holder">): string {
  return (caller.holder ?? caller.id)
    .normalize("NFKC")
    .toLowerCase()
    .toUpperCase()
    .toLowerCase()
    .normalize("NFKC");
}
