import { describe, expect, it } from "vitest";
import { findDoubledMember } from "./doubled-member.js";

describe("findDoubledMember", () => {
  it("finds a member given twice, however its name is spelled, with the path to its object", () => {
    expect(findDoubledMember('{"a":1,"a":2}')).toEqual({ name: "a", path: [] });
    expect(findDoubledMember('{"outcome":1,"outc\\u006fme":2}')).toEqual({
      name: "outcome",
      path: [],
    });
    expect(findDoubledMember('[{}, {"x": [0, {"b": {"c": 1, "c": 2}}]}]')).toEqual({
      name: "c",
      path: [1, "x", 1, "b"],
    });
  });

  it("finds none where one name is in different objects, in a value, or escaped in a string", () => {
    for (const text of [
      '{"a":{"a":1},"b":[{"a":1},{"a":2}]}',
      '{"a":"a","b":"\\"a\\":1,\\"a"}',
      '{"a\\\\":1,"a":2}',
      '[1, "a", {"a": []}, {"a": {}}]',
      '"{\\"a\\":1,\\"a\\":2}"',
    ]) {
      expect(findDoubledMember(text), text).toBeUndefined();
    }
  });

  it("reads any depth JSON.parse reads", () => {
    const deep = `${'{"a":'.repeat(100_000)}{"b":1,"b":2}${"}".repeat(100_000)}`;
    expect(findDoubledMember(deep)?.path).toHaveLength(100_000);
  });
});
