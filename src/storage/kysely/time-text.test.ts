import { describe, expect, it } from "vitest";
import { checkTimeText, toTimeText } from "./time-text.js";

describe("toTimeText", () => {
  it.each([
    ["2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z"],
    ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00.000Z"],
    ["2030-01-01T01:30:00+01:30", "2030-01-01T00:00:00.000Z"],
    ["2030-01-01T00:00Z", "2030-01-01T00:00:00.000Z"],
    ["2030-01-01", "2030-01-01T00:00:00.000Z"],
  ])("brings %s to the one sortable form %s", (value, expected) => {
    expect(toTimeText(value, "t")).toBe(expected);
  });

  it.each(["2030-01-01T00:00:00", "yesterday", "2030-13-01T00:00:00Z", ""])(
    "refuses %j, which has no zone or is no time",
    (value) => {
      expect(() => toTimeText(value, "t")).toThrow(RangeError);
    },
  );
});

describe("checkTimeText", () => {
  it("accepts a time already in toISOString() form and refuses any other form", () => {
    expect(checkTimeText("2030-01-01T00:00:00.000Z", "at")).toBe("2030-01-01T00:00:00.000Z");
    expect(() => checkTimeText("2030-01-01T00:00:00Z", "at")).toThrow(/toISOString/);
  });
});
