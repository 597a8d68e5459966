import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { JWK } from "jose";
import { signingKeys, type SigningKeys } from "../../app/assurance/signing-keys.js";
import { DEFAULT_SETTINGS, type Context } from "../../app/context.js";
import { CountingRandom } from "../../app/test-support/harness.js";
import { ASSURANCE_TOKEN_TYPE, type AssuranceClaims } from "../../core/assurance-claims.js";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { createJoseTokenSigner } from "../../tokens/jose-token-signer.js";

export const ISSUER = "https://mfa.test";
export const AUDIENCE = "platform-web";
export const TENANT = "acme";

/**
 * The real server listening on loopback, serving `/.well-known/jwks.json`, and the real
 * `signingKeys` over the same store and sealing key, so that tokens signed here verify with the
 * keys the server publishes, exactly as in production.
 */
export interface AssuranceFixture {
  readonly server: TestServer;
  readonly jwksUrl: string;
  readonly keys: SigningKeys;
  /** Seconds since the epoch, on the server's clock. */
  nowSeconds(): number;
  /** The claims of a fresh AAL3 phishing-resistant sign-in by alice at acme, with `overrides`. */
  claims(overrides?: Partial<Record<keyof AssuranceClaims | "nbf", unknown>>): AssuranceClaims;
  /** Signs claims as the server does: the active key, its `kid`, `typ` and algorithm. */
  sign(claims: object): Promise<string>;
  /** The active key, private part included, to craft forged tokens. */
  activeKey(): Promise<{ kid: string; alg: "ES256" | "EdDSA"; privateJwk: JWK }>;
  close(): Promise<void>;
}

export async function openAssuranceFixture(): Promise<AssuranceFixture> {
  const secrets = createAesGcmSealer([{ id: "sdk-test", key: randomBytes(32) }]);
  const server = await openTestServer({ federation: { secrets } });
  const context: Context = {
    store: server.store,
    clock: server.clock,
    // Apart from the server's own ids, which count from 1 on the same store.
    random: new CountingRandom(500_000),
    settings: DEFAULT_SETTINGS,
  };
  const signer = createJoseTokenSigner();
  const keys = signingKeys(context, { signer, secrets });
  await keys.active();
  await server.server.listen({ host: "127.0.0.1", port: 0 });
  const { port } = server.server.server.address() as AddressInfo;
  const nowSeconds = () => Math.floor(server.clock.now().getTime() / 1000);
  return {
    server,
    jwksUrl: `http://127.0.0.1:${String(port)}/.well-known/jwks.json`,
    keys,
    nowSeconds,
    claims(overrides = {}) {
      const iat = nowSeconds();
      return {
        iss: ISSUER,
        sub: "alice",
        aud: AUDIENCE,
        tenant: TENANT,
        acr: "https://refeds.org/profile/mfa",
        amr: ["hwk", "mfa"],
        auth_time: iat,
        aal: 3,
        phr: true,
        decision: "dec_000001",
        policy_versions: { tenant_policy: 1, mandates: [{ id: "baseline", version: 2 }] },
        iat,
        exp: iat + 300,
        jti: `tok_${randomBytes(6).toString("hex")}`,
        ...overrides,
      } as AssuranceClaims;
    },
    async sign(claims) {
      return signer.sign(claims as AssuranceClaims, await keys.active(), ASSURANCE_TOKEN_TYPE);
    },
    async activeKey() {
      const key = await keys.active();
      return { kid: key.kid, alg: key.alg, privateJwk: JSON.parse(key.privateJwk) as JWK };
    },
    close: () => server.close(),
  };
}
