import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import type { Browser } from "playwright-core";
import type { RequirementSpec } from "../../../core/policy.js";
import { createOidcProtocol } from "../../../verifiers/oidc/index.js";
import {
  createWebAuthnProtocol,
  startVerificationThreads,
} from "../../../verifiers/webauthn/index.js";
import {
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { openTestServer, type TestServer } from "../open-test-server.js";
import { freePort } from "../../../demo/test-support/serve-demo.js";
import { launchChromium } from "./launch-chromium.js";
import { VIRTUAL_AUTHENTICATOR_ATTESTATION_ROOT } from "./virtual-authenticator.js";

/**
 * Everything the hosted-flow browser tests run against, all on loopback: the real server
 * listening at `http://localhost:PORT` (a secure context whose host can be a WebAuthn RP id), a
 * small "platform" whose return URL the browser lands on, a real `oidc-provider` as one tenant's
 * IdP, and Debian's Chromium. Tenants: `acme` (platform MFA), `globex` (phishing-resistant),
 * `initech` (MFA at its OIDC IdP `corp`), `umbrella` (platform MFA, still in report-only mode).
 *
 * @module
 */
export interface FlowWorld {
  readonly t: TestServer;
  /** `http://localhost:PORT`: the server's public URL, the token issuer, the WebAuthn origin. */
  readonly origin: string;
  /** The platform's registered return URL, `http://localhost:PORT2/signed-in`. */
  readonly returnUrl: string;
  readonly peer: OidcProviderPeer;
  readonly browser: Browser;
  /** A `platform_service` key of every tenant. */
  readonly service: string;
  /** The id of that key: the tokens' default audience. */
  readonly serviceId: string;
  /** Creates a flow through the API, as the platform's backend does after its password check. */
  createFlow(
    tenant: string,
    principal: string,
    options?: { password?: boolean; stepUp?: RequirementSpec; returnTo?: string },
  ): Promise<{ flow: string; url: string }>;
  /** Exchanges a code through the API and verifies the token with jose and the served JWKS. */
  exchange(code: string): Promise<{ status: number; payload?: JWTPayload; body: string }>;
  close(): Promise<void>;
}

const TENANTS = [
  { id: "acme", name: "Acme Corporation", policy: { posture: "platform_mfa" } },
  { id: "globex", name: "Globex", policy: { posture: "phishing_resistant" } },
  {
    id: "initech",
    name: "Initech",
    policy: { posture: "idp_mfa", require: { maxAgeSeconds: 900 } },
  },
  { id: "umbrella", name: "Umbrella", policy: { posture: "platform_mfa" } },
] as const;

/** The platform's page the browser returns to: it shows what it was sent. */
async function startPlatform(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    const shown = [...url.searchParams.keys()].map((key) => `<li>${key}</li>`).join("");
    response.end(
      `<!doctype html><html lang="en"><head><title>Platform</title></head>` +
        `<body><main><h1>Back on the platform</h1><ul>${shown}</ul></main></body></html>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://localhost:${String(port)}/signed-in` };
}

export async function openFlowWorld(): Promise<FlowWorld> {
  const port = await freePort();
  const origin = `http://localhost:${String(port)}`;
  const peer = await startOidcProviderPeer({
    redirectUri: () => `${origin}/t/initech/idps/corp/oidc/callback`,
  });
  const platform = await startPlatform();
  const verificationThreads = startVerificationThreads({ threads: 1 });
  const t = await openTestServer({
    bodyLimitBytes: 256 * 1024,
    federation: { publicUrl: origin, oidc: createOidcProtocol({ allowHttp: true }) },
    // The operator trusts the virtual authenticator's attestation root, as it would a vendor's.
    // Assertions are checked on worker threads, as `serve` checks them.
    webauthn: {
      protocol: createWebAuthnProtocol({
        attestationRoots: [VIRTUAL_AUTHENTICATOR_ATTESTATION_ROOT],
        verificationThreads,
      }),
      publicUrl: origin,
    },
  });
  // The IdP stamps the real time; the server's clock starts there and moves only when told.
  t.clock.advance((Date.now() - t.clock.now().getTime()) / 1000);
  await t.server.listen({ host: "127.0.0.1", port });
  const browser = await launchChromium();
  const must = async (response: Promise<{ statusCode: number; body: string }>, status: number) => {
    const settled = await response;
    if (settled.statusCode !== status) {
      throw new Error(
        `setup: expected ${String(status)}, got ${String(settled.statusCode)}: ${settled.body}`,
      );
    }
  };
  for (const tenant of TENANTS) {
    await must(
      t.call("POST", "/v1/tenants", {
        key: t.adminKey,
        body: { id: tenant.id, name: tenant.name, returnUrls: [platform.url] },
      }),
      201,
    );
    const policy =
      tenant.id === "umbrella"
        ? {
            ...tenant.policy,
            enforcementStartsAt: new Date(t.clock.now().getTime() + 30 * 86_400_000).toISOString(),
          }
        : tenant.policy;
    await must(
      t.call("PUT", `/v1/tenants/${tenant.id}/policy`, {
        key: t.adminKey,
        headers: { "if-match": '"1"' },
        body: { policy, rationale: "browser tests" },
      }),
      200,
    );
  }
  await must(
    t.call("PUT", "/v1/tenants/initech/idps/corp", {
      key: t.adminKey,
      body: {
        protocol: "oidc",
        displayName: "Initech Sign-On",
        oidc: {
          issuer: peer.issuer,
          clientId: peer.idp.clientId,
          clientSecret: peer.idp.clientSecret,
          scopes: ["profile"],
        },
        request: { mfa: [] },
      },
    }),
    201,
  );
  const service = await t.key(["platform_service"], "all");
  const serviceId = (await t.app.authenticate(service)).id;

  return {
    t,
    origin,
    returnUrl: platform.url,
    peer,
    browser,
    service,
    serviceId,
    async createFlow(tenant, principal, options = {}) {
      const response = await t.call("POST", `/v1/tenants/${tenant}/flows`, {
        key: service,
        body: {
          principal: { id: principal, population: tenant === "initech" ? "sso" : "direct" },
          ...(options.password === false
            ? {}
            : {
                verified: [
                  { method: "password", source: "platform", at: t.clock.now().toISOString() },
                ],
              }),
          return_to: options.returnTo ?? platform.url,
          state: `state-${principal}`,
          ...(options.stepUp === undefined ? {} : { step_up: options.stepUp }),
        },
      });
      if (response.statusCode !== 201) {
        throw Object.assign(new Error(`flow creation: ${response.body}`), {
          status: response.statusCode,
          body: response.json<Record<string, unknown>>(),
        });
      }
      return response.json<{ flow: string; url: string }>();
    },
    async exchange(code) {
      const response = await t.call("POST", "/v1/flows/exchange", { key: service, body: { code } });
      if (response.statusCode !== 200) return { status: response.statusCode, body: response.body };
      const { token } = response.json<{ token: string }>();
      // The platform's side: the keys as published, fetched over HTTP like any verifier would.
      const jwks = (await (await fetch(`${origin}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: origin,
        audience: serviceId,
        currentDate: t.clock.now(),
        typ: "tenant-mfa-assurance+jwt",
      });
      return { status: 200, payload, body: response.body };
    },
    async close() {
      await browser.close();
      await t.close();
      await verificationThreads.close();
      await new Promise<void>((resolve) =>
        platform.server.close(() => {
          resolve();
        }),
      );
      await peer.close();
    },
  };
}
