/**
 * Threat: a value an IdP signed that a store cannot hold as given (U+0000, a lone UTF-16
 * surrogate) or that is absurdly long is recorded, and turns a sign-in into a store outage on
 * PostgreSQL, or into another principal once the drivers replace a lone surrogate with U+FFFD.
 * The predicate both verifiers apply before they hand a value on, and the API's `storableString`.
 */
import { describe, expect, it } from "vitest";
import { isNulFree, isWellFormedText } from "../storable-text.js";
import { findUnrecordableValue, RECORDED_VALUE_LIMITS } from "./recordable-values.js";

describe("text every store holds as given", () => {
  it.each([
    ["plain text", "alice@example.org", true, true],
    ["the empty string", "", true, true],
    ["a NUL", "al\u0000ice", false, true],
    ["only a NUL", "\u0000", false, true],
    ["a pair of surrogates (one code point)", "key \u{1F511}", true, true],
    ["a lone high surrogate", "al\ud800ice", true, false],
    ["a lone low surrogate", "al\udc00ice", true, false],
    ["a high surrogate at the end", "mfa\ud83d", true, false],
    ["a pair in the wrong order", "\udd11\ud83d", true, false],
    ["U+FFFD, which a lone surrogate becomes", "al\ufffdice", true, true],
  ])("%s: NUL-free %s, well-formed %s", (_, value, nulFree, wellFormed) => {
    expect([isNulFree(value), isWellFormedText(value)]).toEqual([nulFree, wellFormed]);
  });
});

describe("the values a verifier may hand on to be recorded", () => {
  const subject = (value: string | undefined) => [
    { name: "sub", value, maxLength: RECORDED_VALUE_LIMITS.subject },
  ];

  it("keeps the limits the federation records by: 1024 for a subject, 512 for a context", () => {
    expect(RECORDED_VALUE_LIMITS).toEqual({ subject: 1024, value: 512 });
  });

  it.each([
    ["a NUL", "al\u0000ice", "sub holds U+0000 (NUL)"],
    ["a lone surrogate", "al\ud800ice", "sub holds a lone UTF-16 surrogate"],
    ["1025 characters", "s".repeat(1025), "sub is longer than 1024 characters"],
    ["100 kB", "s".repeat(100 * 1024), "sub is longer than 1024 characters"],
    [
      "a NUL beyond the limit (the NUL is named)",
      `${"s".repeat(2000)}\u0000`,
      "sub holds U+0000 (NUL)",
    ],
  ])("refuses a subject with %s, naming it and never quoting it", (_, value, detail) => {
    expect(findUnrecordableValue(subject(value))).toBe(detail);
  });

  it.each([
    ["absent", undefined],
    ["exactly at the limit", "s".repeat(1024)],
    ["512 emoji: 1024 UTF-16 code units", "\u{1F511}".repeat(512)],
    ["empty", ""],
  ])("accepts a subject %s", (_, value) => {
    expect(findUnrecordableValue(subject(value))).toBeUndefined();
  });

  it("names the first value that cannot be recorded, in the order given", () => {
    const values = [
      { name: "acr", value: "https://refeds.org/profile/mfa", maxLength: 512 },
      { name: "amr[0]", value: "pwd", maxLength: 512 },
      { name: "amr[1]", value: "m".repeat(513), maxLength: 512 },
      { name: "amr[2]", value: "\u0000", maxLength: 512 },
    ];
    expect(findUnrecordableValue(values)).toBe("amr[1] is longer than 512 characters");
    expect(findUnrecordableValue(values.slice(0, 2))).toBeUndefined();
    expect(findUnrecordableValue([])).toBeUndefined();
  });
});
