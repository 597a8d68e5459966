import type { JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssuranceTokenError } from "./assurance-token-error.js";
import {
  AUDIENCE,
  ISSUER,
  openAssuranceFixture,
  TENANT,
  type AssuranceFixture,
} from "./test-support/assurance-fixture.js";
import { verifyAssuranceToken } from "./verify-assurance-token.js";

// Threat: a signing key withdrawn as compromised (`tenant-mfa keys rotate --compromised`) that
// keeps verifying at a platform which holds the JWK Set itself (`jwks`) and refreshes that object
// from tenant-mfa's JWKS: whoever stole the key would go on minting tokens the platform accepts.
// `jose` snapshots a set when a key getter is made from it, so a getter kept per object must be
// made again when the object's keys change.
let f: AssuranceFixture;
beforeAll(async () => {
  f = await openAssuranceFixture();
});
afterAll(() => f.close());

/** What the platform holds: the JWKS it fetched from tenant-mfa, refreshed in place. */
async function fetchInto(held: JSONWebKeySet): Promise<void> {
  const response = await fetch(f.jwksUrl);
  expect(response.status).toBe(200);
  held.keys = ((await response.json()) as JSONWebKeySet).keys;
}

const verifyWith = (jwks: JSONWebKeySet, token: string) =>
  verifyAssuranceToken(token, {
    jwks,
    issuer: ISSUER,
    audience: AUDIENCE,
    tenant: TENANT,
    currentDate: f.server.clock.now(),
  });

describe("a JWK Set the platform holds and refreshes", () => {
  it("stops verifying a key withdrawn as compromised once the held set no longer has it, and verifies its successor", async () => {
    const held: JSONWebKeySet = { keys: [] };
    await fetchInto(held);
    const stolen = await f.sign(f.claims());
    await expect(verifyWith(held, stolen)).resolves.toMatchObject({ sub: "alice" });

    await f.keys.rotate("ops", { compromised: true });
    const successor = await f.sign(f.claims());
    await fetchInto(held);
    expect(held.keys).toHaveLength(1);

    const error: unknown = await verifyWith(held, stolen).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AssuranceTokenError);
    expect((error as AssuranceTokenError).code).toBe("token.invalid");
    await expect(verifyWith(held, successor)).resolves.toMatchObject({ sub: "alice" });
  });
});
