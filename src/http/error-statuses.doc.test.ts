import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../app/errors.js";
import { ERROR_STATUSES, HTTP_PROBLEMS } from "./error-statuses.js";

// Problem codes are a public contract: API users look each one up, with its status and the
// title its problems carry, in one page.
describe("docs/errors.md", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");

  it("documents every problem code with its status and title, once, and no code the server lacks", () => {
    const documented = [...doc.matchAll(/^\| `([a-z_.]+)` +\| (\d{3}) +\| (.+?) +\|$/gm)].map(
      ([, code, status, title]) => `${String(code)} ${String(status)} ${String(title)}`,
    );
    const problems = [
      ...Object.entries(ERROR_STATUSES).map(
        ([code, status]) => [code, status, ERROR_CODES[code as keyof typeof ERROR_CODES]] as const,
      ),
      ...Object.entries(HTTP_PROBLEMS).map(
        ([code, { status, title }]) => [code, status, title] as const,
      ),
    ].map(([code, status, title]) => `${code} ${String(status)} ${title}`);
    expect(documented.sort()).toEqual(problems.sort());
  });
});
