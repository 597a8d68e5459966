/**
 * What a principal id may hold: any printable text. Controls (Cc: NUL, newlines), format
 * characters (Cf: bidi overrides, zero-width spaces and joiners, the byte order mark) and line or
 * paragraph separators (Zl, Zp) are refused: they split log lines and audit exports, and make one
 * id look like another.
 */
export const PRINTABLE_PRINCIPAL_ID = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;

/** Whether `id` begins or ends with white space (as `String.prototype.trim` counts it). */
export function hasWhiteSpaceAtAnEnd(id: string): boolean {
  return id.trim() !== id;
}

/**
 * Characters that Unicode says a renderer shows nothing for (Default_Ignorable_Code_Point) beyond
 * the format characters: variation selectors, the combining grapheme joiner, Hangul fillers, which
 * are marks or letters, so `alice` followed by one reads as alice everywhere it is shown. The
 * same set that makes API key holders one party (exemptions.ts).
 */
const SHOWS_NOTHING = /\p{Default_Ignorable_Code_Point}/u;

/**
 * Why an IdP's subject cannot name a principal, in an audit detail's words that never quote it,
 * or `undefined` when it can. A verified subject becomes the principal id of its decision (and
 * names the principal a binding and its exemptions hang on), so it keeps the principal-id rules
 * ({@link PRINTABLE_PRINCIPAL_ID}, no white space at either end) and three more, since an IdP's
 * user may choose the name (a username, an editable address) where an administrator chooses a
 * principal id: no blank Braille pattern (U+2800, a symbol that shows nothing), no other
 * character that shows nothing ({@link SHOWS_NOTHING}), and Unicode normalization form C, so
 * that `é` written as `e` and a combining accent is not a second `é`. Refused, never normalised:
 * two values the IdP keeps apart are two accounts there, and must not become one principal here.
 */
export function subjectPrincipalIdFlaw(subject: string): string | undefined {
  if (!PRINTABLE_PRINCIPAL_ID.test(subject)) {
    return "the subject holds a control or invisible formatting character";
  }
  if (subject.includes("\u2800")) return "the subject holds a blank Braille pattern (U+2800)";
  if (SHOWS_NOTHING.test(subject)) {
    return "the subject holds a character that shows nothing (default ignorable)";
  }
  if (hasWhiteSpaceAtAnEnd(subject)) return "the subject begins or ends with white space";
  if (subject.normalize("NFC") !== subject) {
    return "the subject is not in Unicode normalization form C";
  }
  return undefined;
}
