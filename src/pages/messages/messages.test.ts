/**
 * Threat: a page shows template syntax or the wrong language: a placeholder without a value
 * printed in braces, an `Accept-Language` header picking a locale with no catalogue.
 */
import { describe, expect, it } from "vitest";
import { en } from "./en.js";
import { addCatalogue, canFill, message, placeholdersOf, resolveLocale } from "./index.js";

describe("resolveLocale", () => {
  it.each([
    [undefined, "en"],
    ["", "en"],
    ["en", "en"],
    ["en-GB,en;q=0.9", "en"],
    ["fr-CH, fr;q=0.9, en;q=0.8", "en"],
    ["de;q=0, tlh", "en"],
    ["*", "en"],
  ])("picks a locale with a catalogue for %j", (header, locale) => {
    expect(resolveLocale(header)).toBe(locale);
  });
});

describe("message", () => {
  it("fills every placeholder it has a value for, and drops the others", () => {
    expect(message("en", "page.title", { heading: "Hi", tenant: "Acme" })).toBe("Hi · Acme");
    expect(message("en", "page.title", { heading: "Hi" })).toBe("Hi · ");
  });

  it("says whether a message's values are all there", () => {
    expect(canFill("notice.recovery_codes.running_low.detail", { remaining: 1 })).toBe(true);
    expect(canFill("notice.recovery_codes.running_low.detail", {})).toBe(false);
    expect(canFill("denied.why", undefined)).toBe(true);
  });

  it("uses only simple placeholder names in the English catalogue", () => {
    for (const [key, text] of Object.entries(en)) {
      const braces = text.match(/[{}]/g)?.length ?? 0;
      expect(braces, key).toBe(placeholdersOf(text).length * 2);
    }
  });
});

describe("addCatalogue", () => {
  // The locale names the page's `lang` and formats its dates (Intl): a tag Intl refuses would
  // fail every page with a date on it, for every visitor whose browser asked for it.
  it.each(["en_gb", "x-pseudo", "i-klingon", "de test", ""])(
    "refuses %j, which is no BCP 47 language tag",
    (tag) => {
      expect(() => {
        addCatalogue(tag, { "exemption.continue": "Weiter" });
      }).toThrow(/language tag/);
      expect(resolveLocale(tag)).toBe("en");
    },
  );

  it("takes a language, a region, a script or a private-use subtag", () => {
    for (const tag of ["de", "de-CH", "sr-Latn", "en-x-pseudo"]) {
      addCatalogue(tag, { "exemption.continue": "Weiter" });
      expect(resolveLocale(tag)).toBe(tag.toLowerCase());
    }
  });
});
