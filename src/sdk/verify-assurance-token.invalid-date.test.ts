import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkAssurance } from "./check-assurance.js";
import { guardAssurance } from "./guard-assurance.js";
import {
  AUDIENCE,
  ISSUER,
  openAssuranceFixture,
  TENANT,
  type AssuranceFixture,
} from "./test-support/assurance-fixture.js";
import { verifyAssuranceToken } from "./verify-assurance-token.js";

// Threat: an expired or stale proof accepted because the time to judge it at is an invalid Date
// (`new Date(someHeader)`, `new Date(undefined)`): `jose` and the age check compare with NaN,
// every comparison is false, and a token that expired a day ago passes. A time that cannot be
// read is a misconfiguration, refused as loudly as a missing issuer.
let f: AssuranceFixture;
beforeAll(async () => {
  f = await openAssuranceFixture();
});
afterAll(() => f.close());

const INVALID = new Date(Number.NaN);

/** A token whose sign-in and expiry lie a day back. */
const expiredToken = () => {
  const dayAgo = f.nowSeconds() - 86_400;
  return f.sign(f.claims({ iat: dayAgo, auth_time: dayAgo, exp: dayAgo + 300 }));
};

describe("an invalid time to judge tokens at", () => {
  it("makes verifyAssuranceToken throw rather than accept a token that expired a day ago", async () => {
    await expect(
      verifyAssuranceToken(await expiredToken(), {
        jwksUrl: f.jwksUrl,
        issuer: ISSUER,
        audience: AUDIENCE,
        tenant: TENANT,
        currentDate: INVALID,
      }),
    ).rejects.toThrow(TypeError);
  });

  it("makes a guard fail the request rather than pass an expired token", async () => {
    const outcome = guardAssurance(
      {
        verify: { jwksUrl: f.jwksUrl, issuer: ISSUER, audience: AUDIENCE },
        needs: { minAal: 2, maxAgeSeconds: 300 },
        tenant: () => TENANT,
        anyPrincipal: true,
        now: () => INVALID,
      },
      { headers: { authorization: `Bearer ${await expiredToken()}` } },
    );
    await expect(outcome).rejects.toThrow(TypeError);
  });

  it("makes checkAssurance throw rather than pass a proof of any age", () => {
    const dayAgo = f.nowSeconds() - 86_400;
    expect(() =>
      checkAssurance({ aal: 3, phr: true, auth_time: dayAgo }, { maxAgeSeconds: 300 }, INVALID),
    ).toThrow(TypeError);
  });
});
