import { createJoseTokenSigner } from "../../tokens/jose-token-signer.js";
import type { FederationParts } from "../../app/federation/endpoints.js";
import type { WebAuthnParts } from "../../app/authenticators/webauthn.js";
import { testFederationParts } from "../../app/test-support/federation-parts.js";
import { randomBytes } from "node:crypto";
import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from "fastify";
import { bootstrapPlatformAdmin } from "../../app/api-keys/api-keys.js";
import type { Application } from "../../app/application.js";
import { DEFAULT_SETTINGS, type AppSettings, type Context } from "../../app/context.js";
import { createApplication } from "../../app/create-application.js";
import type { Clock, Random, Store, Timers } from "../../app/ports.js";
import type { Role } from "../../app/records.js";
import type { Logger } from "pino";
import { createScryptHasher } from "../../secrets/scrypt-hasher.js";
import { openStore } from "../../storage/open-store.js";
import { createTotpProtocol } from "../../verifiers/totp/index.js";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import { buildServer } from "../build-server.js";
import { createMetrics, countAuditAppends, type Metrics } from "../metrics.js";

/** A clock that tests move by hand. */
export class TestClock implements Clock {
  #now: number;
  constructor(start = "2026-11-23T12:00:00.000Z") {
    this.#now = Date.parse(start);
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
}

class TestRandom implements Random {
  #next = 1;
  id(prefix: string): string {
    return `${prefix}_${String(this.#next++).padStart(6, "0")}`;
  }
  secret(bytes: number): string {
    return randomBytes(bytes).toString("base64url");
  }
}

/** The real application over a real in-memory SQLite store, served by the real server. */
export interface TestServer {
  readonly server: FastifyInstance;
  readonly app: Application;
  readonly store: Store;
  readonly clock: TestClock;
  readonly metrics: Metrics;
  /** The bootstrap platform administrator's API key. */
  readonly adminKey: string;
  /** Creates an API key through the API and returns its secret. */
  key(roles: readonly Role[], tenants: "all" | readonly string[]): Promise<string>;
  /** Sends a request, with `key` as the bearer token when given. */
  call(
    method: HTTPMethods,
    url: string,
    options?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Opens a test server; `bodyLimitBytes` is small by default so size limits are cheap to test. */
export async function openTestServer(
  options: {
    settings?: AppSettings;
    bodyLimitBytes?: number;
    store?: Store;
    authFailureLimit?: { attempts: number; windowMs: number };
    logger?: Logger;
    /** SAML and OIDC parts; by default the real verifiers, a random sealing key, `https://mfa.test`. */
    federation?: Partial<FederationParts>;
    /** WebAuthn parts; by default the real verifier and the federation's public URL. */
    webauthn?: WebAuthnParts;
    /** Timers; by default the real ones. */
    timers?: Timers;
    /** The token `/metrics` requires (`metrics.token`); none by default. */
    metricsToken?: string;
  } = {},
): Promise<TestServer> {
  const metrics = createMetrics();
  const store = countAuditAppends(options.store ?? (await openStore("sqlite::memory:")), metrics);
  const clock = new TestClock();
  const context: Context = {
    store,
    clock,
    random: new TestRandom(),
    settings: options.settings ?? DEFAULT_SETTINGS,
  };
  const federation = testFederationParts(options.federation);
  const app = createApplication({
    ...context,
    ...(options.timers === undefined ? {} : { timers: options.timers }),
    federation,
    secrets: federation.secrets,
    totp: createTotpProtocol(),
    // The real hasher at a low cost, so that tests may issue many codes.
    recoveryCodeHasher: createScryptHasher({ log2N: 10, r: 8, p: 1 }),
    tokenSigner: createJoseTokenSigner(),
    webauthn: options.webauthn ?? {
      protocol: createWebAuthnProtocol(),
      publicUrl: federation.publicUrl,
    },
  });
  const { secret: adminKey } = await bootstrapPlatformAdmin(context, { name: "test admin" });
  const server = buildServer({
    app,
    config: {
      bodyLimitBytes: options.bodyLimitBytes ?? 16 * 1024,
      logLevel: "silent",
      publicUrl: federation.publicUrl,
      ...(options.metricsToken === undefined ? {} : { metrics: { token: options.metricsToken } }),
    },
    metrics,
    now: () => clock.now(),
    ...(options.authFailureLimit === undefined
      ? {}
      : { authFailureLimit: options.authFailureLimit }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const call = callerOf(server);
  return {
    server,
    app,
    store,
    clock,
    metrics,
    adminKey,
    async key(roles, tenants) {
      const response = await call("POST", "/v1/api-keys", {
        key: adminKey,
        body: { name: roles.join("+"), roles, tenants },
      });
      if (response.statusCode !== 201) throw new Error(`key creation failed: ${response.body}`);
      return response.json<{ secret: string }>().secret;
    },
    call,
    async close() {
      await server.close();
      await app.close();
      // A test may have closed the store already, to simulate an outage.
      await store.close().catch(() => undefined);
    },
  };
}

/** Sends requests to `server` by injection, with `key` as the bearer token when given. */
export function callerOf(server: FastifyInstance): TestServer["call"] {
  return (method, url, { key, body, headers } = {}) =>
    server.inject({
      method,
      url,
      headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
}
