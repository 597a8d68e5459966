import { describe, expect, it } from "vitest";
import { checkAssurance, type AssuranceNeeds } from "./check-assurance.js";

// Threat: checkAssurance reporting `ok` for claims that prove nothing, because they were not
// the typed claims `verifyAssuranceToken` returns (read from a session store, a decoded but
// unverified token, a JavaScript caller's object): a missing `aal` is not below 2, `phr: "false"`
// is truthy, and the age of a missing or textual `auth_time` is NaN, never above the maximum.
// Claims that cannot be read must never pass; like misconfigured needs, they throw.
const NOW = new Date("2026-11-23T12:00:00.000Z");
const nowSeconds = NOW.getTime() / 1000;
const NEEDS: AssuranceNeeds = { minAal: 2, phishingResistant: true, maxAgeSeconds: 300 };
const GOOD = { aal: 3, phr: true, auth_time: nowSeconds - 60 };

describe("checkAssurance on claims it cannot read", () => {
  it("passes the well-typed claims these cases alter", () => {
    expect(checkAssurance(GOOD as never, NEEDS, NOW)).toEqual({ ok: true });
  });

  it.each<[string, Record<string, unknown>]>([
    ["no aal", { aal: undefined }],
    ["aal as text", { aal: "3" }],
    ["aal out of range", { aal: 7 }],
    ["aal as NaN", { aal: Number.NaN }],
    ['phr as "false"', { phr: "false" }],
    ['phr as "true"', { phr: "true" }],
    ["no auth_time", { auth_time: undefined }],
    ["auth_time as an ISO date", { auth_time: "2026-11-23T11:59:00Z" }],
    ["auth_time as NaN", { auth_time: Number.NaN }],
  ])("throws, never passes, with %s", (_, change) => {
    const claims = { ...GOOD, ...change };
    expect(() => checkAssurance(claims as never, NEEDS, NOW)).toThrow(TypeError);
  });

  it("throws for no claims at all, whatever the needs", () => {
    const needs: AssuranceNeeds = { minAal: 3, maxAgeSeconds: 60 };
    for (const claims of [undefined, null, {}, "token"])
      expect(() => checkAssurance(claims as never, needs, NOW)).toThrow(TypeError);
  });
});
