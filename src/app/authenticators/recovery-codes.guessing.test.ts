// Threat: an attacker submits strings until one is accepted: near misses of a real code (one
// character changed, dropped, added or swapped), codes of another principal, look-alike letters,
// other scripts, anything. The property: a submission is accepted exactly when, read as people
// type codes (case, dashes and spaces ignored, I and L as 1, O as 0), it is an issued code of this
// principal's current set that was not used yet. The reading is written out here independently
// of the parser it checks.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { backoffSeconds, VERIFICATION_THROTTLE_DEFAULTS } from "./verification-throttle.js";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
// ASCII only, so splitting into code units is splitting into characters.
const TYPED_CHARACTERS = Array.from(
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz -",
);

/** How a person's typing of a code reads, or undefined when it cannot be a code. */
function reading(input: string): string | undefined {
  if (!/^[0-9A-Za-z -]*$/.test(input)) return undefined;
  let out = "";
  for (const ch of input.toUpperCase()) {
    if (ch === " " || ch === "-") continue;
    out += ch === "I" || ch === "L" ? "1" : ch === "O" ? "0" : ch;
  }
  return new RegExp(`^[${ALPHABET}]{20}$`).test(out) ? out : undefined;
}

const outcome = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
};

describe("recovery codes: only an issued, unused code is accepted", () => {
  let h: Harness;
  let service: Caller;
  let admin: Caller;
  /** The issued codes of the current set, as read, and those still unused. */
  let issued: string[] = [];
  let unused = new Set<string>();
  /** Bob's codes: valid codes, of someone else. */
  let foreign: readonly string[] = [];
  let failures = 0;
  const seen = { accepted: 0, used: 0, wrong: 0, malformed: 0 };

  const issue = async () => {
    const { codes } = await h.app.recoveryCodes.generate(service, "acme", "alice");
    issued = codes.map((code) => reading(code)!);
    unused = new Set(issued);
    failures = 0;
  };

  beforeAll(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    await h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
    admin = await h.caller(["tenant_admin"], ["acme"]);
    foreign = (await h.app.recoveryCodes.generate(service, "acme", "bob")).codes;
    await issue();
  });
  afterAll(() => h.close());

  const typed = fc.constantFrom(...TYPED_CHARACTERS);
  const nearMiss = fc
    .record({
      code: fc.nat(9),
      at: fc.nat(19),
      ch: typed,
      edit: fc.constantFrom("replace", "insert", "delete", "swap", "lower", "bare", "spaced"),
    })
    .map(({ code, at, ch, edit }) => {
      const c = issued[code]!;
      switch (edit) {
        case "replace":
          return c.slice(0, at) + ch + c.slice(at + 1);
        case "insert":
          return c.slice(0, at) + ch + c.slice(at);
        case "delete":
          return c.slice(0, at) + c.slice(at + 1);
        case "swap":
          return c.slice(0, at) + c.charAt(at + 1) + c.charAt(at) + c.slice(at + 2);
        case "lower":
          return c.toLowerCase();
        case "spaced":
          return c.match(/.{4}/g)!.join(" ");
        default:
          return c;
      }
    });
  const submission = fc.oneof(
    nearMiss,
    fc.string({ maxLength: 40 }),
    fc.string({ unit: typed, minLength: 16, maxLength: 28 }),
    fc.string({ unit: "grapheme", minLength: 18, maxLength: 26 }),
    fc.nat(9).map((i) => foreign[i]!),
  );

  it("accepts a submission exactly when it reads as an unused code of the current set", async () => {
    await fc.assert(
      fc.asyncProperty(submission, async (input) => {
        // Stay clear of the locks at 100 failures (the set's and the principal's, which count
        // the same failures here): a new set and an unlock before reaching them.
        if (failures >= 90) {
          await h.app.authenticators.unlock(admin, "acme", "alice");
          await h.app.recoveryCodes.revoke(admin, "acme", "alice");
          await issue();
        }
        const read = reading(input);
        const expected =
          read !== undefined && unused.has(read)
            ? "accepted"
            : read !== undefined && issued.includes(read)
              ? "recovery_code.used"
              : read === undefined
                ? "recovery_code.malformed_code"
                : "recovery_code.wrong_code";
        const got = await outcome(
          h.app.recoveryCodes.verify(service, "acme", "alice", { code: input }),
        );
        expect(got).toBe(expected);
        if (got === "accepted") unused.delete(read!);
        else {
          failures += 1;
          // Past the principal's backoff: what is proven here is which codes are accepted.
          h.clock.advance(backoffSeconds(VERIFICATION_THROTTLE_DEFAULTS.principal, failures));
        }
        if (got === "accepted") seen.accepted += 1;
        else if (got === "recovery_code.used") seen.used += 1;
        else if (got === "recovery_code.wrong_code") seen.wrong += 1;
        else seen.malformed += 1;
        if (unused.size === 0) {
          await h.app.recoveryCodes.revoke(admin, "acme", "alice");
          await issue();
        }
      }),
      { numRuns: 400 },
    );
    // Not vacuous: the samples reached every answer, acceptance included.
    expect(Object.values(seen).every((count) => count > 0)).toBe(true);
  });
});
