import type { IncomingMessage, ServerResponse } from "node:http";
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import type { OidcIdpSettings } from "../../../app/federation/protocols.js";
import { listenOnLoopback } from "./loopback-server.js";
import { REFEDS_MFA } from "../../../core/vocabulary.js";

/** A signing key of the stub, with its published half. */
export interface StubKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

type Endpoint = "discovery" | "jwks" | "token" | "attacker";

/** How many requests the stub answered at each of its endpoints. */
export type StubIdpRequests = Readonly<Record<Endpoint, number>>;

/**
 * A hand-driven IdP on loopback for the attack matrix: it serves discovery, a JWKS and a token
 * endpoint that hands out whatever ID token the test signed, and counts every request, so a test
 * can prove that a `jku` or `x5u` was never fetched and that a `kid` flood costs one JWKS fetch.
 */
export interface StubIdp {
  readonly origin: string;
  readonly issuer: string;
  readonly redirectUri: string;
  readonly idp: OidcIdpSettings;
  readonly key: StubKey;
  /** A URL on the stub that no verifier should ever fetch (for `jku`, `x5u`). */
  readonly attackerUrl: string;
  /** The requests at every issuer the stub serves, together. */
  readonly requests: StubIdpRequests;
  /**
   * Another issuer the stub serves (`/more/<name>`, `name` of a-z, 0-9 and -), with its own
   * endpoints answering as the first issuer's, and the IdP settings registering it.
   */
  otherIssuer(name: string): OidcIdpSettings;
  /** The requests at one issuer's endpoints. */
  requestsAt(issuer: string): StubIdpRequests;
  /** What the JWKS endpoint publishes; starts with `key`. */
  publishedKeys: JWK[];
  /** `down`: 503; `hang`: never answers. */
  jwksMode: "up" | "down" | "hang";
  /** `down`: 500; `hang`: never answers. */
  discoveryMode: "up" | "down" | "hang";
  /** Fields merged over the discovery document. */
  discoveryOverrides: Record<string, unknown>;
  /** The ID token the token endpoint returns next. */
  nextIdToken: string;
  /** Replaces the token endpoint's whole answer when set. */
  tokenAnswer: { status: number; body: unknown } | undefined;
  readonly lastTokenRequest: { authorization?: string; form: URLSearchParams } | undefined;
  newKey(kid: string): Promise<StubKey>;
  /** Signs claims as this IdP would (RS256 with `key`), with any header the test wants. */
  sign(
    claims: Record<string, unknown>,
    header?: Record<string, unknown>,
    key?: StubKey,
  ): Promise<string>;
  /** Signs with RS256 without jose's header checks: for headers jose would refuse to produce. */
  signRaw(header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/**
 * The claims of an ID token that answers the sign-in sent to `authorization` (its nonce) for
 * `sub`, with MFA done ten seconds before `nowSeconds` (REFEDS MFA, `amr` pwd and mfa), valid ten
 * minutes; `claims` are merged over them.
 */
export function mfaClaims(
  stub: Pick<StubIdp, "issuer" | "idp">,
  authorization: URL,
  sub: string,
  nowSeconds: number,
  claims: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    iss: stub.issuer,
    sub,
    aud: stub.idp.clientId,
    nonce: authorization.searchParams.get("nonce") ?? "",
    iat: nowSeconds,
    exp: nowSeconds + 600,
    auth_time: nowSeconds - 10,
    acr: REFEDS_MFA,
    amr: ["pwd", "mfa"],
    ...claims,
  };
}

export async function newStubKey(kid: string): Promise<StubKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: "sig" } };
}

export async function startStubIdp(): Promise<StubIdp> {
  const key = await newStubKey("stub-key-1");
  const requests: Record<Endpoint, number> = { discovery: 0, jwks: 0, token: 0, attacker: 0 };
  const state: {
    publishedKeys: JWK[];
    jwksMode: "up" | "down" | "hang";
    discoveryMode: "up" | "down" | "hang";
    discoveryOverrides: Record<string, unknown>;
    nextIdToken: string;
    tokenAnswer: { status: number; body: unknown } | undefined;
    lastTokenRequest: { authorization?: string; form: URLSearchParams } | undefined;
  } = {
    publishedKeys: [key.publicJwk],
    jwksMode: "up",
    discoveryMode: "up",
    discoveryOverrides: {},
    nextIdToken: "",
    tokenAnswer: undefined,
    lastTokenRequest: undefined,
  };
  let issuer = "";

  const server = await listenOnLoopback((req, res) => {
    void handle(req, res).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  issuer = `${server.origin}/tenant-a`;

  const requestsByIssuer = new Map<string, Record<Endpoint, number>>();
  const requestsAt = (at: string): Record<Endpoint, number> => {
    let counts = requestsByIssuer.get(at);
    if (counts === undefined) {
      counts = { discovery: 0, jwks: 0, token: 0, attacker: 0 };
      requestsByIssuer.set(at, counts);
    }
    return counts;
  };
  const count = (at: string, endpoint: Endpoint): void => {
    requests[endpoint] += 1;
    requestsAt(at)[endpoint] += 1;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fullPath = new URL(req.url ?? "/", server.origin).pathname;
    const served = /^\/(tenant-a|more\/[a-z0-9-]+)(\/.*)$/.exec(fullPath);
    const at = `${server.origin}/${served?.[1] ?? "tenant-a"}`;
    const path = served === null ? fullPath : `/tenant-a${served[2] ?? ""}`;
    if (path === "/tenant-a/.well-known/openid-configuration") {
      count(at, "discovery");
      if (state.discoveryMode === "hang") return;
      if (state.discoveryMode === "down") {
        json(res, 500, { error: "unavailable" });
        return;
      }
      json(res, 200, {
        issuer: at,
        authorization_endpoint: `${at}/authorize`,
        token_endpoint: `${at}/token`,
        jwks_uri: `${at}/jwks`,
        response_types_supported: ["code"],
        id_token_signing_alg_values_supported: ["RS256"],
        token_endpoint_auth_methods_supported: ["client_secret_basic"],
        ...state.discoveryOverrides,
      });
      return;
    }
    if (path === "/tenant-a/jwks") {
      count(at, "jwks");
      if (state.jwksMode === "hang") return;
      if (state.jwksMode === "down") json(res, 503, { error: "unavailable" });
      else json(res, 200, { keys: state.publishedKeys });
      return;
    }
    if (path === "/tenant-a/token" && req.method === "POST") {
      count(at, "token");
      const form = new URLSearchParams(await readBody(req));
      const authorization = req.headers.authorization;
      state.lastTokenRequest = authorization === undefined ? { form } : { authorization, form };
      const answer = state.tokenAnswer ?? {
        status: 200,
        body: { access_token: "opaque-access", token_type: "Bearer", id_token: state.nextIdToken },
      };
      json(res, answer.status, answer.body);
      return;
    }
    if (path.startsWith("/attacker")) requests.attacker += 1;
    json(res, 404, { error: "not_found" });
  }

  const settingsOf = (at: string): OidcIdpSettings => ({
    issuer: at,
    clientId: "client-a",
    clientSecret: "secret-a",
    scopes: ["openid"],
    idTokenAlgorithms: ["RS256"],
    subjectClaim: "sub",
  });

  return {
    origin: server.origin,
    issuer,
    redirectUri: `${server.origin}/rp/callback`,
    idp: settingsOf(issuer),
    key,
    attackerUrl: `${server.origin}/attacker/keys`,
    requests,
    otherIssuer: (name) => {
      if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`not a name the stub serves: ${name}`);
      return settingsOf(`${server.origin}/more/${name}`);
    },
    requestsAt: (at) => ({ ...requestsAt(at) }),
    get publishedKeys() {
      return state.publishedKeys;
    },
    set publishedKeys(keys: JWK[]) {
      state.publishedKeys = keys;
    },
    get jwksMode() {
      return state.jwksMode;
    },
    set jwksMode(mode: "up" | "down" | "hang") {
      state.jwksMode = mode;
    },
    get discoveryMode() {
      return state.discoveryMode;
    },
    set discoveryMode(mode: "up" | "down" | "hang") {
      state.discoveryMode = mode;
    },
    get discoveryOverrides() {
      return state.discoveryOverrides;
    },
    set discoveryOverrides(overrides: Record<string, unknown>) {
      state.discoveryOverrides = overrides;
    },
    get nextIdToken() {
      return state.nextIdToken;
    },
    set nextIdToken(token: string) {
      state.nextIdToken = token;
    },
    get tokenAnswer() {
      return state.tokenAnswer;
    },
    set tokenAnswer(answer: { status: number; body: unknown } | undefined) {
      state.tokenAnswer = answer;
    },
    get lastTokenRequest() {
      return state.lastTokenRequest;
    },
    newKey: newStubKey,
    sign: (claims, header = {}, signer = key) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: signer.kid, ...header })
        .sign(signer.privateKey),
    signRaw: async (header, claims) => {
      const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}`;
      const signature = await crypto.subtle.sign(
        "RSASSA-PKCS1-v1_5",
        key.privateKey,
        new TextEncoder().encode(input),
      );
      return `${input}.${base64url.encode(new Uint8Array(signature))}`;
    },
    close: () => server.close(),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
