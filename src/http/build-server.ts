import { registerAssuranceRoutes } from "./routes/assurance-routes.js";
import swagger from "@fastify/swagger";
import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import Fastify, {
  LogController,
  type ConnectionError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { pino, type Logger, type redactOptions } from "pino";
import type { Application } from "../app/application.js";
import { AppError } from "../app/errors.js";
import { bearerAuthentication, FailureLimiter, type FailureLimit } from "./authenticate.js";
import { jsonSchema, PROBLEM_SCHEMA_ID, problemResponse, responseHeader } from "./add-route.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { requireMetricsToken } from "./metrics-token.js";
import type { HttpProblemCode } from "./error-statuses.js";
import { declaresUtf8OrNone, JSON_NOT_UTF8_DETAIL } from "./body-charset.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../app/json-depth.js";
import {
  forAnonymousCaller,
  HttpProblem,
  logProblem,
  PROBLEM_MEDIA_TYPE,
  renderProblem,
  type Problem,
} from "./problem.js";
import {
  DEFAULT_RATE_LIMIT,
  limitUnauthenticatedRoutes,
  RATE_LIMITED_RESPONSE,
  type RateLimit,
} from "./rate-limit.js";
import { problemSchema } from "./response-schemas.js";
import { requestTarget } from "./request-target.js";
import {
  FEDERATION_ROUTE_PREFIX,
  registerFederationRoutes,
  sendFederationFailure,
} from "./routes/federation-routes.js";
import { registerFlowRoutes } from "./routes/flow-routes.js";
import {
  FLOW_PAGE_ROUTE,
  registerHostedFlowRoutes,
  sendFlowFailure,
} from "./routes/hosted-flow-routes.js";
import { registerAuthenticatorRoutes } from "./routes/authenticator-routes.js";
import { registerIdpRoutes } from "./routes/idp-routes.js";
import { registerPlatformRoutes } from "./routes/platform-routes.js";
import { registerRecoveryCodeRoutes } from "./routes/recovery-code-routes.js";
import { registerTenantRoutes } from "./routes/tenant-routes.js";
import { registerWebAuthnRoutes } from "./routes/webauthn-routes.js";

/** What the HTTP layer reads of the server configuration. */
export interface ServerConfig {
  readonly bodyLimitBytes: number;
  readonly logLevel?: string;
  /**
   * The proxies whose `X-Forwarded-For` entries are believed (addresses, CIDR ranges), or `false`
   * (the default): the client address is then the first untrusted entry from the right.
   */
  readonly trustProxy?: false | readonly string[];
  /** The public base URL; the federation routes check OIDC callbacks against it. */
  readonly publicUrl?: string;
  /**
   * The per-address limit on the routes reached without an API key; by default
   * {@link DEFAULT_RATE_LIMIT}, as the configuration schema's.
   */
  readonly rateLimit?: RateLimit;
  /** `metrics.token`: the bearer token `/metrics` requires; without one it answers anyone. */
  readonly metrics?: { readonly token?: string | undefined };
}

/** What the server is built from. */
export interface ServerOptions {
  readonly app: Application;
  readonly config: ServerConfig;
  /** A pino logger; by default one at `config.logLevel` with secrets redacted. */
  readonly logger?: Logger;
  /** Prometheus metrics; by default a fresh registry with the process metrics. */
  readonly metrics?: Metrics;
  /** The source of time for `?active=true` filters and authentication back-off. */
  readonly now?: () => Date;
  /** Failed authentications allowed per client address and window (default 20 a minute). */
  readonly authFailureLimit?: FailureLimit;
  /** How long `/readyz` waits for the store (default 2 s). */
  readonly readyTimeoutMs?: number;
  /** Bounds on slow clients and open connections; see {@link DEFAULT_CONNECTION_LIMITS}. */
  readonly connectionLimits?: Partial<ConnectionLimits>;
}

/** How long a client may take to send a request, and how many connections are served at once. */
export interface ConnectionLimits {
  /** Time from the start of a request to the end of its headers. */
  readonly headersTimeoutMs: number;
  /** Time from the start of a request to the end of its body. */
  readonly requestTimeoutMs: number;
  /**
   * How often Node looks for requests past the two timeouts above (it checks on this interval,
   * not per request): a slow client is cut off at most this much later than its timeout.
   */
  readonly checkIntervalMs: number;
  /** Time a connection may stay silent (Node's socket timeout). */
  readonly idleTimeoutMs: number;
  /** Time an idle keep-alive connection is kept open between requests. */
  readonly keepAliveTimeoutMs: number;
  /** Connections beyond this many are closed as soon as they are accepted. */
  readonly maxConnections: number;
}

/**
 * The defaults: a slow or stalled client (slowloris, a trickled body) is answered 408 within 11 s
 * for its headers and 31 s for the whole request. The configuration schema has no setting for
 * these yet; tests pass shorter ones through {@link ServerOptions.connectionLimits}.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  checkIntervalMs: 1_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  // Far below the usual descriptor limits, far above what one instance behind a load balancer
  // serves at once; every connection past it would only hold memory until a timeout.
  maxConnections: 4_096,
});

/** Log options: secrets redacted wherever they might appear; bodies are never logged. */
export const LOG_REDACTION: redactOptions = {
  paths: [
    "req.headers.authorization",
    "req.headers.cookie",
    "headers.authorization",
    "secret",
    "*.secret",
    "*.*.secret",
    "body",
    "req.body",
  ],
  censor: "[redacted]",
};

/**
 * What a log line keeps of a request: its path and query, whatever the form of its target. The
 * query of the browser-facing endpoints under `/t/` carries authorization codes, state and IdP
 * messages: it is never logged. The route matched counts as well as the path, since the router
 * decodes the path first (`/%74/…` reaches `/t/…`). Elsewhere the query is logged only when each
 * of its parameters is one the route declares: a client may put a secret where no route reads
 * one (an API key as RFC 6750 §2.3's `access_token`, a flow code), and the refusal that follows
 * must not write it down.
 */
export function requestSummary(request: FastifyRequest): Record<string, unknown> {
  const { path, search } = requestTarget(request.url);
  // Repeated slashes collapsed: `//t/…` is no route, but a client that sends it sends the same
  // codes.
  const hidden =
    search !== "" &&
    (path.replace(/\/{2,}/g, "/").startsWith("/t/") ||
      (request.routeOptions.url?.startsWith("/t/") ?? false) ||
      !declaresEveryParameter(request, search));
  const url = hidden ? `${path}?[redacted]` : `${path}${search}`;
  return { method: request.method, url, remoteAddress: request.ip };
}

/** Whether the route matched declares, in its query schema, every parameter `search` names. */
function declaresEveryParameter(request: FastifyRequest, search: string): boolean {
  const schema = request.routeOptions.schema?.querystring as
    { properties?: Record<string, unknown> } | undefined;
  const declared = schema?.properties ?? {};
  return [...new URLSearchParams(search).keys()].every((name) => Object.hasOwn(declared, name));
}

/** Creates the server's default logger: JSON lines on standard output. */
export function createLogger(level = "info"): Logger {
  return pino({ level, redact: LOG_REDACTION });
}

/**
 * Fastify's request logging with one line per request instead of two: the completion line also
 * names the request (method, URL, client), so "incoming request" only doubled the log's volume
 * and its cost on every request.
 */
class CompletionLogController extends LogController {
  override incomingRequest(): void {
    // Nothing: the completion line says it all.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const fields = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...fields, err: error }, "request errored");
    else reply.log.info(fields, "request completed");
  }
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
  // A page that opened a flow's page (or whose link did) keeps no handle on it: no later
  // navigation of it to a look-alike, no reading of its state. Flows end by redirect, not by
  // messages to an opener.
  "cross-origin-opener-policy": "same-origin",
};

/**
 * Builds the HTTP server: the `/v1` API over the application's use cases, health, readiness,
 * metrics and the OpenAPI document. It never listens: tests call `server.inject`, the
 * composition root calls `listen`.
 */
export function buildServer(options: ServerOptions): FastifyInstance {
  const { app, config } = options;
  const now = options.now ?? (() => new Date());
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits };
  const metrics = options.metrics ?? createMetrics({ defaults: true });
  const logger = (options.logger ?? createLogger(config.logLevel)).child(
    {},
    { serializers: { req: requestSummary } },
  );
  /** Every route registered, by method and a pattern over the path as it is sent. */
  const routes: { method: string; url: string; pattern: RegExp }[] = [];
  const server = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    // Never `true` or a hop count: the first believes the leftmost entry, which the client
    // writes; the second cannot tell a proxy from a client (see src/config/config-schema.ts).
    trustProxy:
      config.trustProxy === undefined || config.trustProxy === false
        ? false
        : [...config.trustProxy],
    // Slow or stalled clients are cut off instead of holding a connection forever. Fastify sets
    // only Node's `requestTimeout`; the header timeout and the checking interval (30 s by
    // default, which doubled every bound) are Node's server options.
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    return503OnClosing: true,
    logController: new CompletionLogController(),
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    frameworkErrors: (error, request, reply) => {
      // Refused before routing (a path that is not UTF-8, a segment longer than a parameter may
      // be): the route hooks never run for it, the `onSend` that adds the headers included.
      withSecurityHeaders(reply);
      // A browser-facing route's URL is answered as that route answers its failures: a person
      // following a mangled link to a sign-in page sees a page, not a problem document.
      const { path } = requestTarget(request.url);
      const route = routes.find((r) => r.method === request.method && r.pattern.test(path))?.url;
      if (route === FLOW_PAGE_ROUTE) sendFlowFailure(request, reply, error);
      else if (route?.startsWith(FEDERATION_ROUTE_PREFIX) === true) {
        sendFederationFailure(request, reply, error);
      } else sendProblem(request, reply, error);
    },
    clientErrorHandler: (error, socket) => {
      answerClientError(logger, error, socket);
    },
  }) as unknown as FastifyInstance;
  server.server.maxConnections = limits.maxConnections;
  server.server.on("checkExpectation", (_request, response: ServerResponse) => {
    answerUnmetExpectation(logger, response);
  });

  // Every request part is checked by zod in the handler (src/http/add-route.ts); the JSON
  // Schemas on routes document the API, and responses are sent as they are.
  server.setValidatorCompiler(() => () => true);
  server.setSerializerCompiler(() => (data) => JSON.stringify(data));
  server.removeContentTypeParser("text/plain");
  // An empty JSON body is no body (a DELETE or an approval from a client that always sends the
  // content type); a route that needs a body says so through its schema.
  const parseJson = server.getDefaultJsonParser("error", "error");
  server.removeContentTypeParser("application/json");
  server.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    // Fastify decodes the body as UTF-8 whatever charset it declares: another is refused.
    if (!declaresUtf8OrNone(request.headers["content-type"] ?? "")) {
      done(new HttpProblem("request.unsupported_media_type", JSON_NOT_UTF8_DETAIL), undefined);
      return;
    }
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text === "") done(null, undefined);
    else {
      void parseJson(request, text, (error, value: unknown) => {
        if (error === null && nestsDeeperThan(value, MAX_JSON_DEPTH)) {
          const detail = `The JSON body nests deeper than ${String(MAX_JSON_DEPTH)} levels.`;
          done(new AppError("request.invalid", detail), undefined);
        } else done(error, value);
      });
    }
  });
  server.decorateRequest("caller", null);

  server.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = new RegExp(
      `^${route.url
        .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
        .replace(/:[^/]+/g, "[^/]+")
        .replace(/\*/g, ".*")}$`,
    );
    for (const method of methods) routes.push({ method: String(method), url: route.url, pattern });
  });

  server.setErrorHandler((error, request, reply) => {
    sendProblem(request, reply, error);
  });
  server.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    const allowed = [
      ...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method)),
    ].sort();
    if (allowed.length > 0) {
      sendProblem(
        request,
        reply,
        new HttpProblem("method.not_allowed", `${request.method} is not allowed here.`, {
          allow: allowed.join(", "),
        }),
      );
      return;
    }
    sendProblem(request, reply, new HttpProblem("route.not_found", `No route ${path}.`));
  });

  server.addHook("onSend", async (_request, reply, payload) => {
    withSecurityHeaders(reply);
    return payload;
  });
  server.addHook("onResponse", async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? "unmatched",
      status: String(reply.statusCode),
    };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });

  // Before the routes: its hook counts the requests to every route registered after it.
  limitUnauthenticatedRoutes(server, config.rateLimit ?? DEFAULT_RATE_LIMIT);

  server.addSchema({ $id: PROBLEM_SCHEMA_ID, ...jsonSchema(problemSchema, "output") });
  void server.register(swagger, {
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === "string" ? json.$id : `def-${i}`,
    },
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "tenant-mfa",
        version: "1",
        description:
          "MFA policy decisions and administration for a multi-tenant platform. Errors are RFC 9457 problem documents with a stable `code`.",
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "An API key." },
        },
      },
    },
  });

  void server.register((api, _options, done) => {
    // One budget of wrong credentials per address, API keys and the metrics token alike, so that
    // guessing one does not add to the guesses at the other.
    const credentialFailures = new FailureLimiter(
      options.authFailureLimit ?? { attempts: 20, windowMs: 60_000 },
      () => now().getTime(),
    );
    registerOperationalRoutes(api, app, metrics, {
      readyTimeoutMs: options.readyTimeoutMs ?? 2000,
      metricsToken: config.metrics?.token,
      credentialFailures,
    });
    const context = {
      app,
      metrics,
      now,
      authenticate: bearerAuthentication(app, credentialFailures),
    };
    registerPlatformRoutes(api, context);
    registerTenantRoutes(api, context);
    registerIdpRoutes(api, context);
    registerAuthenticatorRoutes(api, context);
    registerRecoveryCodeRoutes(api, context);
    registerAssuranceRoutes(api, context);
    registerWebAuthnRoutes(api, context);
    registerFlowRoutes(api, context);
    done();
  });
  void server.register((browser, _options, done) => {
    registerFederationRoutes(browser, { app, publicUrl: config.publicUrl ?? "http://localhost" });
    done();
  });
  void server.register((flows, _options, done) => {
    registerHostedFlowRoutes(flows, { app, publicUrl: config.publicUrl ?? "http://localhost" });
    done();
  });

  return server;
}

/** Adds the security headers, and `no-store` unless the reply says how it may be cached. */
function withSecurityHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    // A page that set its own policies (the hosted flow pages) keeps them.
    const own = name === "content-security-policy" || name === "referrer-policy";
    if (own && reply.hasHeader(name)) continue;
    reply.header(name, value);
  }
  if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  const rendered = renderProblem(error, requestTarget(request.url).path);
  logProblem(request.log, error, rendered);
  const { headers } = rendered;
  const problem = request.caller === null ? forAnonymousCaller(rendered.problem) : rendered.problem;
  void reply
    .code(problem.status)
    .headers(headers)
    .type(PROBLEM_MEDIA_TYPE)
    .send(JSON.stringify(problem));
}

/**
 * Refusals of Node's HTTP parser (llhttp's `HPE_*`) and server (`ERR_HTTP_*`) that have a problem
 * of their own; the parser refuses everything else as malformed.
 */
const CLIENT_ERROR_PROBLEMS: Readonly<Record<string, HttpProblemCode>> = {
  HPE_HEADER_OVERFLOW: "request.headers_too_large",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "request.too_large",
  ERR_HTTP_REQUEST_TIMEOUT: "request.timeout",
};

const codeOf = (error: unknown): string | undefined => {
  const code = (typeof error === "object" && error !== null ? error : {}) as { code?: unknown };
  return typeof code.code === "string" ? code.code : undefined;
};

function clientErrorProblem(error: unknown): Problem {
  const known = CLIENT_ERROR_PROBLEMS[codeOf(error) ?? ""];
  return renderProblem(
    known === undefined
      ? new AppError("request.invalid", "The request is not well-formed HTTP/1.1.")
      : new HttpProblem(known),
    undefined,
  ).problem;
}

/**
 * The raw HTTP/1.1 answer to a request that Node's parser refused before Fastify saw it: a
 * problem document that names nothing of the request (its bytes may carry an API key), and
 * `Connection: close`, since what follows on the connection cannot be framed.
 */
export function clientErrorResponse(error: unknown): string {
  const problem = clientErrorProblem(error);
  const body = JSON.stringify(problem);
  return [
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ""}`,
    ...Object.entries(rawProblemHeaders(body)).map(([name, value]) => `${name}: ${value}`),
    "",
    body,
  ].join("\r\n");
}

/** The headers of a problem answered below Fastify, the connection then closed. */
function rawProblemHeaders(body: string): Record<string, string> {
  return {
    "content-type": PROBLEM_MEDIA_TYPE,
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
    "cache-control": "no-store",
    ...SECURITY_HEADERS,
  };
}

/**
 * Node's answer to an `Expect` other than `100-continue`, which it gives before Fastify sees the
 * request: a problem like every refusal, where Node's own was a bare 417 with no code or log line.
 */
function answerUnmetExpectation(logger: Logger, response: ServerResponse): void {
  const { problem } = renderProblem(new HttpProblem("request.expectation_failed"), undefined);
  logger.info({ code: problem.code, status: problem.status }, "request refused");
  const body = JSON.stringify(problem);
  response.writeHead(problem.status, rawProblemHeaders(body));
  response.end(body);
}

/** Fastify's `clientErrorHandler`: answers on the raw socket, then closes it. */
function answerClientError(logger: Logger, error: ConnectionError, socket: Socket): void {
  // The client is gone: there is nobody to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const { status, code } = clientErrorProblem(error);
  // The code only: the error's `rawPacket` holds the request's bytes, headers included.
  logger.info({ code, status, reason: codeOf(error) }, "request refused");
  // As Node's default handler does: never write into a response already under way.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) socket.write(clientErrorResponse(error));
  socket.destroy();
}

function registerOperationalRoutes(
  server: FastifyInstance,
  app: Application,
  metrics: Metrics,
  {
    readyTimeoutMs,
    metricsToken,
    credentialFailures,
  }: {
    readyTimeoutMs: number;
    metricsToken: string | undefined;
    credentialFailures: FailureLimiter;
  },
): void {
  server.get(
    "/healthz",
    {
      schema: {
        summary: "Liveness: the process serves requests",
        tags: ["operations"],
        response: {
          200: {
            description: "Alive.",
            content: {
              "application/json": {
                schema: { type: "object", properties: { status: { const: "ok" } } },
              },
            },
          },
        },
      },
    },
    () => ({ status: "ok" }),
  );

  server.get(
    "/readyz",
    {
      schema: {
        summary: "Readiness: the store is reachable",
        tags: ["operations"],
        response: {
          200: {
            description: "Ready.",
            content: {
              "application/json": {
                schema: { type: "object", properties: { status: { const: "ready" } } },
              },
            },
          },
          503: problemResponse("The store cannot be reached (`store.unavailable`)."),
        },
      },
    },
    async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error("readiness check timed out"));
        }, readyTimeoutMs);
      });
      try {
        await Promise.race([app.ready(), timeout]);
      } catch (error) {
        server.log.warn({ err: error }, "not ready");
        throw new AppError("store.unavailable", "The store cannot be reached.");
      } finally {
        clearTimeout(timer);
      }
      return { status: "ready" };
    },
  );

  server.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics",
        description:
          "With `metrics.token` configured, send it as `Authorization: Bearer <token>`; without one, anyone may read them.",
        tags: ["operations"],
        response: {
          200: {
            description: "Metrics in the Prometheus text format.",
            content: { "text/plain": { schema: { type: "string" } } },
          },
          401: problemResponse(
            "`metrics.token` is configured and the request did not send it (`metrics.unauthorized`).",
          ),
          429: {
            ...problemResponse(
              "Too many wrong tokens or API keys from this address (`auth.rate_limited`): wait `Retry-After` seconds.",
            ),
            headers: { "Retry-After": responseHeader("Seconds to wait before retrying.") },
          },
        },
      },
      ...(metricsToken === undefined
        ? {}
        : { onRequest: requireMetricsToken(metricsToken, credentialFailures) }),
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );

  server.get(
    "/openapi.json",
    {
      schema: {
        summary: "This API's OpenAPI 3.1 document",
        tags: ["operations"],
        response: {
          200: {
            description: "The OpenAPI document.",
            content: { "application/json": { schema: { type: "object" } } },
          },
          429: RATE_LIMITED_RESPONSE,
        },
      },
    },
    () => server.swagger(),
  );
}
