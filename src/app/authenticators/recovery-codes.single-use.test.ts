// Threat: a recovery code seen once (shoulder-surfing, a phishing relay, a copied printout) is
// used again, or submitted twice at once so that both submissions pass. SP 800-63B-4 (saved
// recovery codes, SECURITY-CHECKLIST N8) and DESIGN invariant 7: each code is accepted once; the
// store marks it used by compare-and-set, so of concurrent submissions exactly one succeeds and
// the others are told `recovery_code.used`.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { AppError } from "../errors.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";

const outcome = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
};

describe("recovery codes: each code accepted once", () => {
  let h: Harness;
  let service: Caller;
  let codes: readonly string[];
  const verify = (code: string) =>
    outcome(h.app.recoveryCodes.verify(service, "acme", "alice", { code }));

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
    ({ codes } = await h.app.recoveryCodes.generate(service, "acme", "alice"));
  });
  afterEach(() => h.close());

  it("refuses a code the second time, however it is typed", async () => {
    const code = codes[0]!;
    expect([
      await verify(code),
      await verify(code),
      await verify(code.toLowerCase()),
      await verify(code.replace(/-/g, "")),
    ]).toEqual(["accepted", "recovery_code.used", "recovery_code.used", "recovery_code.used"]);
  });

  it("refuses it later too, and after other codes were used", async () => {
    const first = codes[0]!;
    await verify(first);
    h.clock.advance(86_400);
    expect(await verify(codes[1]!)).toBe("accepted");
    expect(await verify(first)).toBe("recovery_code.used");
  });

  it("accepts exactly one of several concurrent submissions of one code", async () => {
    for (const code of codes.slice(0, 3)) {
      const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => verify(code)));
      expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "recovery_code.used")).toHaveLength(4);
    }
    const used = await h.app.audit.list(h.admin, "acme", { type: "recovery_code.used" }, {});
    expect(used.items.map((e) => e.payload.remaining)).toEqual([9, 8, 7]);
  });

  it("uses each of the ten codes once, counting down to none", async () => {
    const remaining = [];
    for (const code of codes) {
      const use = await h.app.recoveryCodes.verify(service, "acme", "alice", { code });
      remaining.push(use.remaining);
    }
    expect(remaining).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    for (const code of codes) {
      expect(await verify(code)).toBe("recovery_code.used");
      // Past the principal's backoff (at most 15 minutes), which these failures build up.
      h.clock.advance(900);
    }
  });

  it("stops accepting the unused codes of a set once it is replaced", async () => {
    await provedMfaJustNow(h, "acme", "alice");
    await h.app.recoveryCodes.generate(service, "acme", "alice");
    const outcomes = [];
    for (const code of codes) {
      outcomes.push(await verify(code));
      h.clock.advance(900); // past the principal's backoff
    }
    expect(new Set(outcomes)).toEqual(new Set(["recovery_code.wrong_code"]));
  });
});
