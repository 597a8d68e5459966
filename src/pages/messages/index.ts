import { en, type MessageKey } from "./en.js";

/**
 * The message catalogues of the hosted pages and the one function that reads them. A page asks
 * for a key in a locale and gets plain text (escaped later by the renderer); a key missing from
 * a translation, or a locale with no catalogue, falls back to English.
 *
 * @module
 */

export type { MessageKey } from "./en.js";

/** A translation: any subset of the English keys. */
export type Catalogue = Readonly<Partial<Record<MessageKey, string>>>;

/** Values for a message's `{placeholders}`. */
export type MessageValues = Readonly<Record<string, string | number>>;

/** The catalogues by BCP 47 language tag (lower case). English is complete; others may not be. */
const CATALOGUES = new Map<string, Catalogue>([["en", en]]);

/** The locale used when nothing better matches: its catalogue has every key. */
export const DEFAULT_LOCALE = "en";

/**
 * The best supported locale for a request: `wanted` is a language tag or an `Accept-Language`
 * header (`fr-CH, fr;q=0.9, en;q=0.8`). Tries each tag by weight, then its primary language.
 */
export function resolveLocale(wanted: string | undefined): string {
  if (wanted === undefined) return DEFAULT_LOCALE;
  const tags = wanted
    .split(",")
    .map((part, index) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim().toLowerCase(), weight: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.tag !== "" && entry.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  for (const { tag } of tags) {
    if (CATALOGUES.has(tag)) return tag;
    const primary = tag.split("-")[0] ?? "";
    if (CATALOGUES.has(primary)) return primary;
  }
  return DEFAULT_LOCALE;
}

/**
 * Adds (or replaces) the catalogue of `locale`, a BCP 47 tag (kept in lower case): a
 * deployment's own translation, or a test's pseudo-locale. English cannot be replaced. A tag that
 * `Intl` refuses (`en_GB`) is refused here, at start-up: the page's dates are formatted in its
 * locale, so every page with a date would fail for each visitor whose browser asked for it.
 */
export function addCatalogue(locale: string, catalogue: Catalogue): void {
  const tag = locale.toLowerCase();
  if (tag === DEFAULT_LOCALE)
    throw new Error("the English catalogue is the fallback: it cannot be replaced");
  try {
    if (Intl.getCanonicalLocales(tag).length !== 1) throw new RangeError(tag);
  } catch {
    throw new Error(`${JSON.stringify(locale)} is not a BCP 47 language tag`);
  }
  CATALOGUES.set(tag, Object.freeze({ ...catalogue }));
}

/** The names of the `{placeholders}` in a message. */
export function placeholdersOf(text: string): string[] {
  return [...text.matchAll(/\{([a-zA-Z_]+)\}/g)].map((match) => match[1] ?? "");
}

/**
 * The text of `key` in `locale` (English when the locale or the key has no translation), with
 * its `{placeholders}` filled from `values`. A placeholder without a value is left out rather
 * than shown in braces, so a page never shows template syntax to a person.
 */
export function message(locale: string, key: MessageKey, values: MessageValues = {}): string {
  return messageTemplate(locale, key).replace(/\{([a-zA-Z_]+)\}/g, (_, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : "",
  );
}

/**
 * The unfilled text of `key` in `locale`, English as the fallback: for a renderer that fills
 * placeholders with markup (a `<time>` element) after escaping the text around them.
 */
export function messageTemplate(locale: string, key: MessageKey): string {
  return CATALOGUES.get(locale)?.[key] ?? en[key];
}

/**
 * True when the page text of `key` in `locale` is in the locale's own language: English pages,
 * and keys the locale's catalogue has. False where the page falls back to English, which the
 * renderer marks with `lang="en"` so that a screen reader does not read it as the page's language.
 */
export function hasTranslation(locale: string, key: MessageKey): boolean {
  if (locale === DEFAULT_LOCALE) return true;
  // As messageTemplate reads it: a key the catalogue holds no text for falls back.
  return CATALOGUES.get(locale)?.[key] !== undefined;
}

/** True when `values` has every placeholder that `key` needs (in English). */
export function canFill(key: MessageKey, values: MessageValues | undefined): boolean {
  return placeholdersOf(en[key]).every(
    (name) => values !== undefined && Object.hasOwn(values, name),
  );
}

/** True when `key` is a key of the catalogue (every key is in English). */
export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}
