/**
 * The SDK's token checks, pinned where a mutation survey of src/sdk and src/tokens found them
 * unpinned. Every test here fails with its mutant applied: the allow-list of algorithms (without
 * it, a key set holding any other key, an RSA key of another service say, verified tokens
 * signed with it), and the times of its claims being whole non-negative seconds (without it, a
 * fractional or negative `auth_time` came out of verification, and `checkAssurance` threw on
 * it: a verified token that the platform's own checks then fail on, a 500 rather than a 401).
 */
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { ASSURANCE_TOKEN_TYPE } from "./assurance-token-claims.js";
import { AssuranceTokenError } from "./assurance-token-error.js";
import { verifyAssuranceToken } from "./verify-assurance-token.js";

const ISSUER = "https://mfa.test";
const AUDIENCE = "platform-web";
const NOW = 1_800_000_000;
const at = (seconds: number) => new Date(seconds * 1000);

const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  sub: "alice",
  aud: AUDIENCE,
  tenant: "acme",
  acr: "https://refeds.org/profile/mfa",
  amr: ["hwk", "mfa"],
  auth_time: NOW,
  aal: 3,
  phr: true,
  decision: "dec_000001",
  policy_versions: { tenant_policy: 1, mandates: [{ id: "baseline", version: 2 }] },
  iat: NOW,
  exp: NOW + 300,
  jti: "tok_1",
  ...overrides,
});

/** A key pair of `alg`, its public half published in a local JWK Set under `kid`. */
const keyOf = async (alg: string, kid: string) => {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { privateKey, publicJwk };
};

const sign = (
  payload: object,
  key: Parameters<SignJWT["sign"]>[0],
  header: { alg: string; kid: string },
) =>
  new SignJWT({ ...payload })
    .setProtectedHeader({ typ: ASSURANCE_TOKEN_TYPE, ...header })
    .sign(key);

/** A local ES256 key set and its verify, at NOW. */
const es256 = async () => {
  const key = await keyOf("ES256", "es-1");
  const jwks = { keys: [key.publicJwk] };
  return async (payload: object) =>
    verifyAssuranceToken(await sign(payload, key.privateKey, { alg: "ES256", kid: "es-1" }), {
      jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      tenant: "acme",
      currentDate: at(NOW),
    });
};

const refusal = async (verifying: Promise<unknown>) => {
  const error: unknown = await verifying.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AssuranceTokenError);
  return (error as AssuranceTokenError).code;
};

describe("verifyAssuranceToken keeps to its own algorithms", () => {
  it("refuses an RS256 token even when the key set given holds the RSA key that signed it", async () => {
    const rsa = await keyOf("RS256", "rsa-1");
    const jwks = { keys: [rsa.publicJwk] };
    const token = await sign(claims(), rsa.privateKey, { alg: "RS256", kid: "rsa-1" });
    const verifying = verifyAssuranceToken(token, {
      jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      tenant: "acme",
      currentDate: at(NOW),
    });
    expect(await refusal(verifying)).toBe("token.invalid");
  });
});

describe("verifyAssuranceToken takes times as whole seconds since the epoch", () => {
  it("verifies the token these cases alter", async () => {
    const verify = await es256();
    await expect(verify(claims())).resolves.toMatchObject({ auth_time: NOW, iat: NOW });
  });

  it.each([
    ["auth_time", NOW - 0.5],
    ["auth_time", -1],
    ["iat", NOW - 0.5],
    ["exemption", { id: "exm_1", expires_at: NOW + 0.5 }],
    ["policy_versions", { tenant_policy: 1.5, mandates: [] }],
    ["policy_versions", { tenant_policy: 1, mandates: [{ id: "baseline", version: -2 }] }],
  ])("refuses a token whose %s is %j", async (claim, value) => {
    const verify = await es256();
    expect(await refusal(verify(claims({ [claim]: value })))).toBe("token.invalid_claims");
  });
});
