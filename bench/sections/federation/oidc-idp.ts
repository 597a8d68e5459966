import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import type { FetchLike } from "../../../src/verifiers/oidc/index.js";

export const ISSUER = "https://idp.bench.example";
export const CLIENT_ID = "tenant-mfa-bench";
const CLIENT_SECRET = "bench-client-secret-not-a-real-one";
export const REFEDS_MFA = "https://refeds.org/profile/mfa";
export const SUBJECT = "alice";

const DISCOVERY_URL = `${ISSUER}/.well-known/openid-configuration`;
const JWKS_URI = `${ISSUER}/jwks`;
const TOKEN_ENDPOINT = `${ISSUER}/token`;
const KID = "bench-rs256";

/**
 * An OpenID provider that lives in memory: a 2048-bit RSA key, ID tokens signed with it in
 * advance (RS256, as most IdPs sign), and a `fetch` that answers discovery, the JWKS and the
 * token endpoint with `Response` objects built in memory. The token endpoint hands out the ID
 * token signed for the authorization code, and the code is the sign-in's nonce. Signing happens
 * in {@link presign}, never while a sign-in is timed.
 */
export class InMemoryOidcProvider {
  readonly #tokens = new Map<string, string>();
  readonly #publicJwk: JWK;
  readonly #privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** Token-endpoint calls served; discovery and JWKS fetches counted apart. */
  readonly served = { discovery: 0, jwks: 0, token: 0 };

  private constructor(publicKey: CryptoKey, privateKey: CryptoKey, publicJwk: JWK) {
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
    this.#publicJwk = publicJwk;
  }

  static async create(): Promise<InMemoryOidcProvider> {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
    const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" };
    return new InMemoryOidcProvider(publicKey, privateKey, jwk);
  }

  /** The registration a tenant administrator would make for this provider. */
  registration() {
    return {
      protocol: "oidc" as const,
      oidc: {
        issuer: ISSUER,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        scopes: ["profile"],
      },
    };
  }

  /** Nonces as the application draws them: `secret(24)`, 24 random bytes in base64url. */
  static nonces(count: number): string[] {
    return Array.from({ length: count }, () => randomBytes(24).toString("base64url"));
  }

  /**
   * Signs one ID token per nonce, issued now, proving REFEDS MFA (`acr`) with `amr`
   * `["pwd","mfa"]` for `alice`, and keeps it for the code equal to the nonce. Returns them in
   * order. `onProgress` is told every 500 tokens.
   */
  async presign(nonces: readonly string[], onProgress?: (done: number) => void): Promise<string[]> {
    const tokens: string[] = [];
    for (const nonce of nonces) {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({
        nonce,
        acr: REFEDS_MFA,
        amr: ["pwd", "mfa"],
        auth_time: now,
        azp: CLIENT_ID,
      })
        .setProtectedHeader({ alg: "RS256", kid: KID, typ: "JWT" })
        .setIssuer(ISSUER)
        .setSubject(SUBJECT)
        .setAudience(CLIENT_ID)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(this.#privateKey);
      this.#tokens.set(nonce, token);
      tokens.push(token);
      if (tokens.length % 500 === 0) onProgress?.(tokens.length);
    }
    return tokens;
  }

  /** The callback the browser brings back from the authorization URL the application built. */
  callbackFor(authorizationUrl: string): { callbackUrl: string; state: string } {
    const query = new URL(authorizationUrl).searchParams;
    const state = query.get("state");
    const nonce = query.get("nonce");
    const redirectUri = query.get("redirect_uri");
    if (state === null || nonce === null || redirectUri === null) {
      throw new Error(
        `the authorization URL lacks state, nonce or redirect_uri: ${authorizationUrl}`,
      );
    }
    const answer = new URLSearchParams({ code: nonce, state, iss: ISSUER });
    return { callbackUrl: `${redirectUri}?${answer.toString()}`, state };
  }

  /** The injected `fetch`: discovery, JWKS and token endpoint, answered in memory. */
  readonly fetch: FetchLike = (input, init) => {
    if (input === DISCOVERY_URL) {
      this.served.discovery++;
      return Promise.resolve(
        json({
          issuer: ISSUER,
          authorization_endpoint: `${ISSUER}/authorize`,
          token_endpoint: TOKEN_ENDPOINT,
          jwks_uri: JWKS_URI,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          token_endpoint_auth_methods_supported: ["client_secret_basic"],
          code_challenge_methods_supported: ["S256"],
          authorization_response_iss_parameter_supported: true,
        }),
      );
    }
    if (input === JWKS_URI) {
      this.served.jwks++;
      return Promise.resolve(json({ keys: [this.#publicJwk] }));
    }
    if (input === TOKEN_ENDPOINT && init.method === "POST") {
      this.served.token++;
      const form = new URLSearchParams(typeof init.body === "string" ? init.body : "");
      const code = form.get("code") ?? "";
      const token = this.#tokens.get(code);
      // One use per code, as a real token endpoint allows.
      if (token === undefined || form.get("code_verifier") === null) {
        return Promise.resolve(json({ error: "invalid_grant" }, 400));
      }
      this.#tokens.delete(code);
      return Promise.resolve(
        json({ access_token: code, token_type: "Bearer", expires_in: 300, id_token: token }),
      );
    }
    return Promise.resolve(json({ error: "not_found" }, 404));
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}
