/**
 * Threat: a response used outside its validity window (checklist S15, S17). The IdP issues at
 * NOW with a five-minute window; the verifier runs on a fixed clock with 120 s of skew, and every
 * boundary is tested one second either side.
 */
import { describe, expect, it } from "vitest";
import {
  NOW,
  SKEW_SECONDS,
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { decode } from "./test-support/tamper.js";
import { FIVE_MINUTES_MS, type LoginOptions } from "./test-support/test-idp.js";

const SECOND = 1000;
const SKEW_MS = SKEW_SECONDS * SECOND;
const at = (ms: number) => new Date(NOW.getTime() + ms);

describe("NotOnOrAfter: now − skew < NotOnOrAfter", () => {
  it("accepts one second before the boundary", async () => {
    const now = at(FIVE_MINUTES_MS + SKEW_MS - SECOND);
    expect(await outcomeOf(await idpResponse(), { now })).toBe("ok");
  });

  it("refuses exactly at the boundary (the instant is excluded)", async () => {
    const now = at(FIVE_MINUTES_MS + SKEW_MS);
    expect(await outcomeOf(await idpResponse(), { now })).toBe("saml.expired");
  });

  it("refuses one second after the boundary", async () => {
    const now = at(FIVE_MINUTES_MS + SKEW_MS + SECOND);
    expect(await outcomeOf(await idpResponse(), { now })).toBe("saml.expired");
  });

  it("refuses an expired Conditions window even when the confirmation is still valid", async () => {
    const response = await idpResponse({
      tags: { ConditionsNotOnOrAfter: at(60 * SECOND).toISOString() },
    });
    expect(await outcomeOf(response, { now: at(60 * SECOND + SKEW_MS) })).toBe("saml.expired");
  });

  it("refuses a response an hour old", async () => {
    expect(await outcomeOf(await idpResponse(), { now: at(3600 * SECOND) })).toBe("saml.expired");
  });
});

describe("bearer SubjectConfirmationData/@NotOnOrAfter alone (S15)", () => {
  // The confirmation ends after one minute while Conditions stays valid for five (or has no end),
  // so only the bearer check can refuse: every boundary here is the confirmation's own.
  const CONFIRMATION_MS = 60 * SECOND;
  const shortConfirmation = (tags: LoginOptions["tags"] = {}) =>
    idpResponse({
      tags: { SubjectConfirmationDataNotOnOrAfter: at(CONFIRMATION_MS).toISOString(), ...tags },
    });

  it("accepts one second before the confirmation's boundary", async () => {
    const now = at(CONFIRMATION_MS + SKEW_MS - SECOND);
    expect(await outcomeOf(await shortConfirmation(), { now })).toBe("ok");
  });

  it("refuses exactly at the confirmation's boundary while Conditions is still valid", async () => {
    const now = at(CONFIRMATION_MS + SKEW_MS);
    expect(now.getTime()).toBeLessThan(at(FIVE_MINUTES_MS).getTime());
    expect(await outcomeOf(await shortConfirmation(), { now })).toBe("saml.expired");
  });

  it("refuses one second after the confirmation's boundary while Conditions is still valid", async () => {
    const now = at(CONFIRMATION_MS + SKEW_MS + SECOND);
    expect(await outcomeOf(await shortConfirmation(), { now })).toBe("saml.expired");
  });

  it("refuses an expired confirmation when Conditions has no NotOnOrAfter", async () => {
    const response = await shortConfirmation({ ConditionsNotOnOrAfter: undefined });
    expect(decode(response)).not.toMatch(/<saml:Conditions[^>]*NotOnOrAfter/);
    expect(await outcomeOf(response, { now: at(CONFIRMATION_MS + SKEW_MS - SECOND) })).toBe("ok");
    expect(await outcomeOf(response, { now: at(CONFIRMATION_MS + SKEW_MS) })).toBe("saml.expired");
  });
});

describe("Conditions/@NotBefore alone (S17)", () => {
  // IssueInstant and AuthnInstant stay at NOW, so only Conditions/@NotBefore is ahead of the clock.
  const notBeforeAt = (ms: number) =>
    idpResponse({ tags: { ConditionsNotBefore: at(ms).toISOString() } });

  it("refuses a Conditions NotBefore one second past now + skew", async () => {
    expect(await outcomeOf(await notBeforeAt(SKEW_MS + SECOND))).toBe("saml.not_yet_valid");
  });

  it("accepts a Conditions NotBefore exactly at now + skew", async () => {
    expect(await outcomeOf(await notBeforeAt(SKEW_MS))).toBe("ok");
  });
});

describe("the assertion's IssueInstant alone (S17)", () => {
  // Conditions/@NotBefore and AuthnInstant stay at NOW, so only IssueInstant is ahead of the clock.
  const issuedAt = (ms: number) => idpResponse({ tags: { IssueInstant: at(ms).toISOString() } });

  it("refuses an IssueInstant one second past now + skew", async () => {
    expect(await outcomeOf(await issuedAt(SKEW_MS + SECOND))).toBe("saml.not_yet_valid");
  });

  it("accepts an IssueInstant exactly at now + skew", async () => {
    expect(await outcomeOf(await issuedAt(SKEW_MS))).toBe("ok");
  });
});

describe("the IdP session's end, AuthnStatement/@SessionNotOnOrAfter (S17)", () => {
  // The assertion and its confirmation stay valid for five minutes: only the IdP session ends.
  const sessionEndingAt = (ms: number) =>
    idpResponse({
      tags: {
        AuthnStatement:
          `<saml:AuthnStatement AuthnInstant="${NOW.toISOString()}" SessionNotOnOrAfter="${at(ms).toISOString()}">` +
          `<saml:AuthnContext><saml:AuthnContextClassRef>https://refeds.org/profile/mfa</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
      },
    });

  it("refuses a session that ended exactly at now − skew", async () => {
    expect(await outcomeOf(await sessionEndingAt(-SKEW_MS))).toBe("saml.expired");
  });

  it("accepts a session that ends one second later", async () => {
    expect(await outcomeOf(await sessionEndingAt(-SKEW_MS + SECOND))).toBe("ok");
  });
});

describe("NotBefore: NotBefore ≤ now + skew", () => {
  it("accepts exactly at the boundary", async () => {
    expect(await outcomeOf(await idpResponse(), { now: at(-SKEW_MS) })).toBe("ok");
  });

  it("accepts one second inside the boundary", async () => {
    expect(await outcomeOf(await idpResponse(), { now: at(-SKEW_MS + SECOND) })).toBe("ok");
  });

  it("refuses one second before the boundary", async () => {
    expect(await outcomeOf(await idpResponse(), { now: at(-SKEW_MS - SECOND) })).toBe(
      "saml.not_yet_valid",
    );
  });

  it("refuses an AuthnInstant in the future", async () => {
    const statement = `<saml:AuthnStatement AuthnInstant="${at(SKEW_MS + SECOND).toISOString()}"><saml:AuthnContext><saml:AuthnContextClassRef>https://refeds.org/profile/mfa</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    const response = await idpResponse({ tags: { AuthnStatement: statement } });
    expect(await outcomeOf(response)).toBe("saml.not_yet_valid");
  });

  it("with no skew, refuses one millisecond early", async () => {
    expect(await outcomeOf(await idpResponse(), { now: at(-1), clockSkewSeconds: 0 })).toBe(
      "saml.not_yet_valid",
    );
  });
});

describe("times", () => {
  it("reports the latest NotOnOrAfter as expiresAt, for the replay cache", async () => {
    const response = await idpResponse({
      tags: { ConditionsNotOnOrAfter: at(10 * 60 * SECOND).toISOString() },
    });
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(response));
    expect(result.ok && result.value.expiresAt.toISOString()).toBe(
      at(10 * 60 * SECOND).toISOString(),
    );
  });

  it("refuses a time with a zone other than Z (Core §1.3.3)", async () => {
    const response = await idpResponse({
      tags: { ConditionsNotOnOrAfter: "2026-03-02T12:05:00+02:00" },
    });
    expect(await outcomeOf(response)).toBe("saml.malformed");
  });

  it("throws for a negative skew: that is a configuration bug, not input", async () => {
    await expect(
      protocol.verifyResponse(SP, testIdp().settings(), verification("", { clockSkewSeconds: -1 })),
    ).rejects.toThrow(RangeError);
  });
});
