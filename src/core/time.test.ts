import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatTime, parseTime, toCanonicalTime } from "./time.js";

describe("ISO 8601 times", () => {
  it("reads and writes every instant as Date does", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("1970-01-01T00:00:00Z"),
          max: new Date("9999-12-31T23:59:59Z"),
          noInvalidDate: true,
        }),
        (date) => {
          const text = formatTime(date.getTime());
          expect(text).toBe(date.toISOString());
          expect(parseTime(text)).toBe(date.getTime());
        },
      ),
      { numRuns: 2000 },
    );
  });

  const accepted: [string, string][] = [
    ["2026-11-23T12:00:00Z", "2026-11-23T12:00:00.000Z"],
    ["2026-11-23T12:00:00.5Z", "2026-11-23T12:00:00.500Z"],
    ["2026-11-23T13:00:00+01:00", "2026-11-23T12:00:00.000Z"],
    ["2028-02-29T00:00:00.000Z", "2028-02-29T00:00:00.000Z"],
    // Years below 100 are themselves (Date.UTC would read 0050 as 1950).
    ["0050-03-01T00:00:00.000Z", "0050-03-01T00:00:00.000Z"],
    ["0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"],
    ["1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"],
  ];
  it.each(accepted)("accepts %s", (text, iso) => {
    expect(parseTime(text)).toBe(Date.parse(iso));
  });

  it("writes back exactly the canonical text it read", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("0000-01-01T00:00:00Z"),
          max: new Date("9999-12-31T23:59:59Z"),
          noInvalidDate: true,
        }),
        (date) => {
          const text = date.toISOString();
          expect(parseTime(text)).toBe(date.getTime());
          expect(formatTime(parseTime(text) ?? Number.NaN)).toBe(text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("refuses a canonical text with any digit replaced by the characters either side of 0–9", () => {
    const text = "2026-11-23T12:34:56.789Z";
    const digits = Array.from({ length: text.length }, (_, at) => at).filter((at) =>
      /\d/.test(text.charAt(at)),
    );
    expect(digits).toHaveLength(17);
    for (const at of digits) {
      for (const replacement of ["/", ":"]) {
        const broken = `${text.slice(0, at)}${replacement}${text.slice(at + 1)}`;
        expect(parseTime(broken), broken).toBeUndefined();
      }
    }
  });

  const refused: unknown[] = [
    "1",
    "2026-11-23",
    "2026-11-23 12:00:00Z",
    "2026-11-23T12:00:00",
    "2026-02-31T12:00:00.000Z",
    "2026-13-01T00:00:00.000Z",
    "2026-11-23T24:00:00.000Z",
    "2026-11-23T12:00:60.000Z",
    "2026-11-2xT12:00:00.000Z",
    "Mon, 23 Nov 2026 12:00:00 GMT",
    1_700_000_000_000,
    new Date(),
    null,
  ];
  it.each(refused)("refuses %s", (value) => {
    expect(parseTime(value)).toBeUndefined();
  });
});

describe("canonical UTC text of an accepted time", () => {
  const canonical: [string, string][] = [
    ["2026-12-06T10:00:00+02:00", "2026-12-06T08:00:00.000Z"],
    ["2026-12-31T18:30:00.25-05:30", "2027-01-01T00:00:00.250Z"],
    ["2026-12-06T08:00:00Z", "2026-12-06T08:00:00.000Z"],
    ["2026-12-06T08:00:00.000Z", "2026-12-06T08:00:00.000Z"],
    ["0000-01-01T01:00:00+01:00", "0000-01-01T00:00:00.000Z"],
  ];
  it.each(canonical)("writes %s as %s", (text, utc) => {
    expect(toCanonicalTime(text)).toBe(utc);
  });

  // Each is a time parseTime reads, but its UTC instant has no 4-digit year, so no text that
  // parseTime would read back.
  it.each(["0000-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])(
    "has no canonical text for %s",
    (text) => {
      expect(parseTime(text)).toBeDefined();
      expect(toCanonicalTime(text)).toBeUndefined();
    },
  );

  it.each([undefined, 1, "2026-12-06", "2026-12-06T08:00:00"])(
    "has none for what is not a time: %s",
    (value) => {
      expect(toCanonicalTime(value)).toBeUndefined();
    },
  );
});
