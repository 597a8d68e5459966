import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_STATUSES, HTTP_PROBLEMS } from "./error-statuses.js";

// Problem codes are a public contract: API users look each one up, with its status, in one page.
describe("docs/errors.md", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");

  it("documents every problem code with its status, once, and no code the server lacks", () => {
    const documented = [...doc.matchAll(/^\| `([a-z_.]+)` +\| (\d{3}) +\|/gm)].map(
      ([, code, status]) => `${String(code)} ${String(status)}`,
    );
    const statuses = [
      ...Object.entries(ERROR_STATUSES),
      ...Object.entries(HTTP_PROBLEMS).map(([code, { status }]) => [code, status] as const),
    ].map(([code, status]) => `${code} ${String(status)}`);
    expect(documented.sort()).toEqual(statuses.sort());
  });
});
