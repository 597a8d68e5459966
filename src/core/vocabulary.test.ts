/**
 * The vocabulary checks written out as switches accept exactly the words of their lists: a word
 * added to a list and not to its check would be refused, one left in a check after leaving the
 * list accepted.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EXEMPTION_CATEGORIES,
  POPULATIONS,
  RISK_LEVELS,
  TOKEN_GRANTS,
  isExemptionCategory,
  isOneOf,
  isPopulation,
  isRiskLevel,
  isTokenGrant,
} from "./vocabulary.js";

const checks: readonly [string, readonly string[], (value: unknown) => boolean][] = [
  ["isPopulation", POPULATIONS, isPopulation],
  ["isRiskLevel", RISK_LEVELS, isRiskLevel],
  ["isTokenGrant", TOKEN_GRANTS, isTokenGrant],
  ["isExemptionCategory", EXEMPTION_CATEGORIES, isExemptionCategory],
];

// Near misses of every word, and values of other types.
const others: readonly unknown[] = [
  ...[...POPULATIONS, ...RISK_LEVELS, ...TOKEN_GRANTS, ...EXEMPTION_CATEGORIES].flatMap((w) => [
    w.toUpperCase(),
    ` ${w}`,
    `${w} `,
    w.slice(1),
    [w],
    { toString: () => w },
    new String(w),
  ]),
  "",
  undefined,
  null,
  0,
  1,
  true,
];

describe.each(checks)("%s", (_name, list, check) => {
  it("accepts every word of its list", () => {
    for (const word of list) expect(check(word)).toBe(true);
  });

  it("accepts nothing else, as isOneOf on the list decides", () => {
    for (const value of others) expect(check(value)).toBe(isOneOf(list, value));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
        expect(check(value)).toBe(isOneOf(list, value));
      }),
    );
  });
});
