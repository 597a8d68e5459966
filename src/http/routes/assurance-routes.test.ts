import type { JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

let t: TestServer;

beforeAll(async () => {
  t = await openTestServer();
});
afterAll(() => t.close());

const fetchJwks = async () => {
  const response = await t.call("GET", "/.well-known/jwks.json");
  expect(response.statusCode).toBe(200);
  return { response, jwks: response.json<JSONWebKeySet>() };
};

describe("the assurance-token JWK Set", () => {
  it("serves public keys only, cacheable for minutes, without credentials", async () => {
    const { response, jwks } = await fetchJwks();
    expect(response.headers["cache-control"]).toBe("public, max-age=300");
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/);
  });

  it("rotates on a platform administrator's request: both keys published, then the old one withdrawn when compromised", async () => {
    const before = (await fetchJwks()).jwks.keys.map((key) => key.kid);
    const rotated = await t.call("POST", "/v1/platform/signing-keys/rotate", {
      key: t.adminKey,
      body: {},
    });
    expect(rotated.statusCode).toBe(200);
    const { kid } = rotated.json<{ kid: string }>();
    expect((await fetchJwks()).jwks.keys.map((key) => key.kid)).toEqual([...before, kid]);

    const withdrawn = await t.call("POST", "/v1/platform/signing-keys/rotate", {
      key: t.adminKey,
      body: { compromised: true },
    });
    expect(withdrawn.statusCode).toBe(200);
    expect((await fetchJwks()).jwks.keys.map((key) => key.kid)).toEqual([
      withdrawn.json<{ kid: string }>().kid,
    ]);
  });

  it("refuses a malformed rotation request with a 400 problem", async () => {
    const response = await t.call("POST", "/v1/platform/signing-keys/rotate", {
      key: t.adminKey,
      body: { compromised: "yes" },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers["content-type"]).toContain("application/problem+json");
  });
});
