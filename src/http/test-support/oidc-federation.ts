/**
 * End-to-end OpenID Connect sign-in through the HTTP server against the real `oidc-provider`
 * peer. The peer's client allows one redirect URI, `${issuer}/rp/t/acme/idps/corp/oidc/callback`,
 * so the server's public URL is `${issuer}/rp`: the redirect URI tenant-mfa derives for tenant
 * `acme` and IdP `corp` is then exactly the one registered at the peer. The browser is driven by
 * hand on loopback up to that callback, which is injected into the server (never fetched).
 */
import type { LightMyRequestResponse } from "fastify";
import type { Logger } from "pino";
import type { Store } from "../../app/ports.js";
import type { Posture } from "../../core/vocabulary.js";
import type { RequirementSpec } from "../../core/policy.js";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import { followToCallback } from "../../verifiers/oidc/test-support/browser.js";
import type { OidcProviderPeer } from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { mfaClaims, type StubIdp } from "../../verifiers/oidc/test-support/stub-idp.js";
import { setBrowserCookie } from "./browser-cookie.js";
import { openTestServer, type TestServer } from "./open-test-server.js";

export const RETURN_URL = "https://app.acme.example/signed-in";

/**
 * What the helpers below need of a server: a way to send it requests, and its platform
 * administrator's key (a {@link TestServer}, or a server built over an opened application).
 */
export type FederationServer = Pick<TestServer, "call" | "adminKey">;

/** A test server whose public URL makes its OIDC redirect URI the peer's registered one. */
export async function openFederationServer(
  peer: OidcProviderPeer,
  options: { logger?: Logger; store?: Store } = {},
): Promise<TestServer> {
  const t = await openTestServer({
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.store === undefined ? {} : { store: options.store }),
    federation: { oidc: createOidcProtocol({ allowHttp: true }), publicUrl: publicUrlOf(peer) },
  });
  syncClock(t);
  return t;
}

export const publicUrlOf = (peer: OidcProviderPeer): string => `${peer.issuer}/rp`;

/**
 * The peer stamps `iat` and `auth_time` with the real time; the server reads its test clock.
 * This sets the test clock to the real time, so that the two agree until a test moves it.
 */
export function syncClock(t: TestServer): void {
  t.clock.advance((Date.now() - t.clock.now().getTime()) / 1000);
}

/** Creates a tenant with the return URL registered and the posture set (policy version 2). */
export async function createTenant(
  t: FederationServer,
  tenant: string,
  posture: Posture,
  require?: RequirementSpec,
): Promise<void> {
  const created = await t.call("POST", "/v1/tenants", {
    key: t.adminKey,
    body: { id: tenant, name: tenant, returnUrls: [RETURN_URL] },
  });
  expectStatus(created, 201);
  const policy = await t.call("PUT", `/v1/tenants/${tenant}/policy`, {
    key: t.adminKey,
    headers: { "if-match": '"1"' },
    body: {
      policy: { posture, ...(require === undefined ? {} : { require }) },
      rationale: "Our people prove MFA at our own IdP",
    },
  });
  expectStatus(policy, 200);
}

/**
 * Registers the peer as the tenant's IdP `corp` (or `at.idp`); `extra` adds request or mapping.
 * With `at.ifMatch`, registers it again over that version (after a leak, say).
 */
export async function registerPeer(
  t: FederationServer,
  key: string,
  tenant: string,
  peer: OidcProviderPeer,
  extra: Record<string, unknown> = {},
  at: { readonly idp?: string; readonly ifMatch?: string } = {},
): Promise<LightMyRequestResponse> {
  return t.call("PUT", `/v1/tenants/${tenant}/idps/${at.idp ?? "corp"}`, {
    key,
    ...(at.ifMatch === undefined ? {} : { headers: { "if-match": at.ifMatch } }),
    body: {
      protocol: "oidc",
      oidc: {
        issuer: peer.issuer,
        clientId: peer.idp.clientId,
        clientSecret: peer.idp.clientSecret,
        scopes: ["profile"],
      },
      ...extra,
    },
  });
}

/**
 * Registers the hand-driven stub IdP as the tenant's IdP `corp`, its ID tokens RS256; with
 * `at.ifMatch`, again over that version.
 */
export function registerStubIdp(
  t: FederationServer,
  key: string,
  tenant: string,
  stub: StubIdp,
  registration: Record<string, unknown> = {},
  at: { readonly ifMatch?: string } = {},
): Promise<LightMyRequestResponse> {
  return t.call("PUT", `/v1/tenants/${tenant}/idps/corp`, {
    key,
    ...(at.ifMatch === undefined ? {} : { headers: { "if-match": at.ifMatch } }),
    body: {
      protocol: "oidc",
      oidc: {
        issuer: stub.issuer,
        clientId: stub.idp.clientId,
        clientSecret: stub.idp.clientSecret,
        idTokenAlgorithms: ["RS256"],
      },
      ...registration,
    },
  });
}

/**
 * `GET /t/:tenant/idps/:idp/start`, as the browser sends it: with its browser cookie (`cookie`, a
 * `Cookie` header value) when it has one; without, the start sets one.
 */
export function startSignIn(
  t: FederationServer,
  tenant: string,
  query: { returnTo?: string; principal?: string; force?: boolean; cookie?: string },
  idp = "corp",
): Promise<LightMyRequestResponse> {
  const search = new URLSearchParams({ return_to: query.returnTo ?? RETURN_URL });
  if (query.principal !== undefined) search.set("principal", query.principal);
  if (query.force === true) search.set("force", "true");
  return t.call("GET", `/t/${tenant}/idps/${idp}/start?${search.toString()}`, {
    ...(query.cookie === undefined ? {} : { headers: { cookie: query.cookie } }),
  });
}

/**
 * The browser cookie a start left the browser with: the one it set, else the one it was sent
 * (`sent`), as the `Cookie` header value to send back; "" when there is none.
 */
export function browserAfter(started: LightMyRequestResponse, sent?: string): string {
  return setBrowserCookie(started) ?? sent ?? "";
}

/** The browser at the IdP: from the authorization URL to the callback URL it is sent to. */
export function atPeer(peer: OidcProviderPeer, authorizationUrl: string): Promise<string> {
  return followToCallback(authorizationUrl, peer.redirectUri);
}

/** The server-relative path and query of a callback URL (it lies under the public URL). */
export function serverPath(peer: OidcProviderPeer, callbackUrl: string): string {
  const base = publicUrlOf(peer);
  if (!callbackUrl.startsWith(`${base}/`)) throw new Error(`not under ${base}: ${callbackUrl}`);
  return callbackUrl.slice(base.length);
}

/**
 * Starts a sign-in, completes it at the peer, and returns the callback's path and query, and the
 * browser cookie (a `Cookie` header value) of the browser that started it, for the callback.
 */
export async function callbackFor(
  t: FederationServer,
  peer: OidcProviderPeer,
  query: { principal?: string; force?: boolean; cookie?: string } = {},
): Promise<{ path: string; authorization: URL; cookie: string }> {
  const started = await startSignIn(t, "acme", query);
  expectStatus(started, 303);
  const authorization = new URL(String(started.headers.location));
  const callbackUrl = await atPeer(peer, authorization.href);
  return {
    path: serverPath(peer, callbackUrl),
    authorization,
    cookie: browserAfter(started, query.cookie),
  };
}

/** The callback, as the browser holding `cookie` brings it back from the IdP. */
export function callback(
  t: FederationServer,
  path: string,
  cookie: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return t.call("GET", path, { headers: { ...headers, ...(cookie === "" ? {} : { cookie }) } });
}

/**
 * A direct sign-in at `tenant`'s stub IdP `corp` started in a new browser (with the `principal`
 * hint, when given), the stub signing an ID token with MFA for `sub` (`claims` merged over it) at
 * the test clock's now, and the callback brought back by that browser: the callback's response
 * (`accept` sent with it, when given).
 */
export async function stubSignIn(
  t: TestServer,
  stub: StubIdp,
  tenant: string,
  sub: string,
  options: {
    readonly claims?: Record<string, unknown>;
    readonly principal?: string;
    readonly accept?: string;
  } = {},
): Promise<LightMyRequestResponse> {
  const started = await startSignIn(t, tenant, {
    ...(options.principal === undefined ? {} : { principal: options.principal }),
  });
  expectStatus(started, 303);
  const authorization = new URL(String(started.headers.location));
  const state = authorization.searchParams.get("state") ?? "";
  const now = Math.floor(t.clock.now().getTime() / 1000);
  stub.nextIdToken = await stub.sign(mfaClaims(stub, authorization, sub, now, options.claims));
  return callback(
    t,
    `/t/${tenant}/idps/corp/oidc/callback?code=the-code&state=${encodeURIComponent(state)}`,
    browserAfter(started),
    options.accept === undefined ? {} : { accept: options.accept },
  );
}

/** Reads every audit event of a tenant, optionally of one type, oldest first. */
export async function auditOf(
  t: FederationServer,
  key: string,
  tenant: string,
  type?: string,
): Promise<AuditEvent[]> {
  const query = new URLSearchParams({ limit: "500" });
  if (type !== undefined) query.set("type", type);
  const response = await t.call("GET", `/v1/tenants/${tenant}/audit?${query.toString()}`, {
    key,
  });
  expectStatus(response, 200);
  return response.json<{ items: AuditEvent[] }>().items;
}

export interface AuditEvent {
  readonly type: string;
  readonly actor: string;
  readonly payload: Record<string, unknown>;
}

function expectStatus(response: LightMyRequestResponse, status: number): void {
  if (response.statusCode !== status) {
    throw new Error(
      `expected ${String(status)}, got ${String(response.statusCode)}: ${response.body}`,
    );
  }
}
