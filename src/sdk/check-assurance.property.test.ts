import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Aal } from "../core/vocabulary.js";
import { checkAssurance, type AssuranceNeeds } from "./check-assurance.js";

// Threat: a guard that lets a weaker sign-in through than the action needs (a stale proof, a
// lower AAL, a phishable method), or a step-up that asks for less than would then pass.
const NOW = new Date("2026-11-23T12:00:00.000Z");
const nowSeconds = NOW.getTime() / 1000;

const aal = fc.constantFrom<Aal>(0, 1, 2, 3);
const claimsArb = fc.record({
  aal,
  phr: fc.boolean(),
  auth_time: fc.integer({ min: nowSeconds - 100_000, max: nowSeconds + 120 }),
});
const needsArb: fc.Arbitrary<AssuranceNeeds> = fc.record(
  { minAal: aal, phishingResistant: fc.boolean(), maxAgeSeconds: fc.nat({ max: 100_000 }) },
  { requiredKeys: [] },
);

/** Needs no stricter than `needs`: a lower AAL, no phishing resistance, a longer age, or none. */
const weakerThan = (needs: AssuranceNeeds): fc.Arbitrary<AssuranceNeeds> =>
  fc
    .record({
      minAal: fc.option(fc.integer({ min: 0, max: needs.minAal ?? 0 }), { nil: undefined }),
      phishingResistant: needs.phishingResistant === true ? fc.boolean() : fc.constant(false),
      maxAgeSeconds:
        needs.maxAgeSeconds === undefined
          ? fc.constant(undefined)
          : fc.option(fc.integer({ min: needs.maxAgeSeconds, max: 200_000 }), { nil: undefined }),
      dropAal: fc.boolean(),
    })
    .map(({ minAal, phishingResistant, maxAgeSeconds, dropAal }) => ({
      ...(minAal === undefined || needs.minAal === undefined || dropAal
        ? {}
        : { minAal: minAal as Aal }),
      phishingResistant,
      ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
    }));

describe("checkAssurance", () => {
  it("a token meeting some needs meets every weaker need", () => {
    fc.assert(
      fc.property(
        claimsArb,
        needsArb.chain((needs) => fc.tuple(fc.constant(needs), weakerThan(needs))),
        (claims, [needs, weaker]) => {
          fc.pre(checkAssurance(claims, needs, NOW).ok);
          expect(checkAssurance(claims, weaker, NOW).ok).toBe(true);
        },
      ),
    );
  });

  it("passes exactly when every part holds, and names exactly the parts that fall short", () => {
    fc.assert(
      fc.property(claimsArb, needsArb, (claims, needs) => {
        const age = nowSeconds - claims.auth_time;
        const aalShort = needs.minAal !== undefined && claims.aal < needs.minAal;
        const phrShort = needs.phishingResistant === true && !claims.phr;
        const ageShort = needs.maxAgeSeconds !== undefined && age > needs.maxAgeSeconds;
        const result = checkAssurance(claims, needs, NOW);
        expect(result.ok).toBe(!aalShort && !phrShort && !ageShort);
        if (result.ok) return;
        expect(result.shortfall.aal !== undefined).toBe(aalShort);
        expect(result.shortfall.phishingResistant !== undefined).toBe(phrShort);
        expect(result.shortfall.age !== undefined).toBe(ageShort);
        if (aalShort)
          expect(result.shortfall.aal).toEqual({ required: needs.minAal, actual: claims.aal });
        if (ageShort)
          expect(result.shortfall.age).toEqual({
            maxAgeSeconds: needs.maxAgeSeconds,
            ageSeconds: age,
          });
      }),
    );
  });

  it("asks in its step-up for every need, so that a token proving just that passes", () => {
    fc.assert(
      fc.property(claimsArb, needsArb, (claims, needs) => {
        const result = checkAssurance(claims, needs, NOW);
        if (result.ok) return;
        // The least a fresh sign-in answering the step-up could prove.
        const answered = {
          aal: result.stepUp.minAal ?? 0,
          phr: result.stepUp.phishingResistant ?? false,
          auth_time: nowSeconds,
        };
        expect(checkAssurance(answered, needs, NOW).ok).toBe(true);
        expect(result.stepUp).toEqual({
          ...(needs.minAal === undefined ? {} : { minAal: needs.minAal }),
          ...(needs.phishingResistant === true ? { phishingResistant: true } : {}),
          ...(needs.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: needs.maxAgeSeconds }),
        });
      }),
    );
  });

  it("counts age to the second: exactly maxAgeSeconds old passes, one second more does not", () => {
    const claims = { aal: 2 as const, phr: false, auth_time: nowSeconds - 300 };
    expect(checkAssurance(claims, { maxAgeSeconds: 300 }, NOW)).toEqual({ ok: true });
    expect(checkAssurance(claims, { maxAgeSeconds: 299 }, NOW)).toEqual({
      ok: false,
      shortfall: { age: { maxAgeSeconds: 299, ageSeconds: 300 } },
      stepUp: { maxAgeSeconds: 299 },
    });
  });

  it("does not let an exemption stand in for the action's needs", () => {
    const exempted = {
      aal: 0 as const,
      phr: false,
      auth_time: nowSeconds,
      exemption: { id: "exm_1", expires_at: nowSeconds + 60 },
    };
    expect(checkAssurance(exempted, { minAal: 2 }, NOW)).toMatchObject({
      ok: false,
      shortfall: { aal: { required: 2, actual: 0 } },
    });
  });

  it.each([
    [{ minAal: 4 }],
    [{ minAal: "2" }],
    [{ phishingResistant: "yes" }],
    [{ maxAgeSeconds: -1 }],
    [{ maxAgeSeconds: 1.5 }],
    [{ maxAge: 300 }],
  ])("throws on misconfigured needs %j rather than pass every token", (needs) => {
    expect(() =>
      checkAssurance({ aal: 3, phr: true, auth_time: nowSeconds }, needs as AssuranceNeeds, NOW),
    ).toThrow(TypeError);
  });
});
