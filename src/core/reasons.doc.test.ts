import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REASONS } from "./reasons.js";

// Reason codes are a public contract: each one is documented, with the message users see.
describe("docs/reasons.md", () => {
  const doc = readFileSync(new URL("../../docs/reasons.md", import.meta.url), "utf8");
  it.each(Object.keys(REASONS))("documents %s", (code) => {
    expect(doc).toContain(`\`${code}\``);
  });

  it("documents no code the engine does not have", () => {
    const documented = [...doc.matchAll(/^\| `([a-z_.0-9]+)` +\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(REASONS).sort());
  });
});
