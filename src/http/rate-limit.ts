import rateLimit from "@fastify/rate-limit";
import { isInternalAddress } from "../app/internal-address.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { FLOW_ASSET_PATH } from "../pages/assets.js";
import { problemResponse, responseHeader } from "./add-route.js";
import { HttpProblem, PROBLEM_MEDIA_TYPE, renderProblem } from "./problem.js";
import { requestTarget } from "./request-target.js";
import { FEDERATION_ROUTE_PREFIX, wantsJson } from "./routes/federation-routes.js";
import { FLOW_PAGE_ROUTE } from "./routes/hosted-flow-routes.js";

export { isInternalAddress };

/**
 * The per-client-address limit on the routes that anyone on the internet reaches without an API
 * key: federation, hosted flows, the JWKS and the OpenAPI document. It bounds what one address can
 * make the server do (store lookups, signature checks, requests to IdPs); guessing codes is the
 * verification throttle's business (src/app/authenticators/verification-throttle.ts).
 *
 * @module
 */

/** How many requests one client address may send to the unauthenticated routes. */
export interface RateLimit {
  /** `false` lets every request through (a proxy in front already limits, say). */
  readonly enabled: boolean;
  /** Requests per address and window, all the limited routes together. */
  readonly max: number;
  /** The length of a window, which starts at an address's first request. */
  readonly windowSeconds: number;
  /**
   * How many addresses are counted at once. Beyond it the least recently seen is forgotten
   * (starts a new window), so clients with many addresses cannot grow the table.
   */
  readonly maxAddresses: number;
}

/**
 * The defaults, as the configuration schema gives them. A sign-in sends about five limited
 * requests (the flow page, its form, a WebAuthn ceremony's options, the IdP's start and answer),
 * so one address may start some sixty sign-ins a minute: an office behind one NAT address at
 * its morning peak. An address takes 200 to 300 bytes: 100 000 take 20 to 30 MB of heap.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = Object.freeze({
  enabled: true,
  max: 300,
  windowSeconds: 60,
  maxAddresses: 100_000,
});

/** The stable code of the problem a limited request is answered with. */
export const RATE_LIMITED = "request.rate_limited";

/**
 * The OpenAPI response of a limited route that is in the document (the JWKS, the OpenAPI
 * document itself): the `/v1` routes declare their own 429 (src/http/add-route.ts), and the
 * federation and flow routes are not documented.
 */
export const RATE_LIMITED_RESPONSE = Object.freeze({
  ...problemResponse(
    `Too many requests from this client address: wait \`Retry-After\` seconds (\`${RATE_LIMITED}\`).`,
  ),
  headers: {
    "Retry-After": responseHeader("Seconds until the client address's window ends."),
  },
});

const HTML = "text/html; charset=utf-8";

/**
 * Probes: the orchestrator and the monitoring call them on a schedule, often from one address.
 * Limited, they would take a healthy instance out of rotation, or blind its monitoring, during
 * the very flood the limit answers.
 */
const PROBES: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Whether requests to `route` (the route's pattern; `undefined` when none matched) count against
 * the limit. Every route is, unless it is one of these, so that an unauthenticated route added
 * later is limited without anyone remembering to:
 * - the `/v1` API: every route there authenticates by API key first (src/http/add-route.ts).
 *   Its callers are the platform's backend, asking for a decision on every sign-in of every
 *   tenant from a few addresses, and administrators: a per-address limit would throttle the
 *   platform's sign-ins at their busiest. Wrong keys are slowed down per address already
 *   (src/http/authenticate.ts), and a valid key is accountable;
 * - the probes ({@link PROBES});
 * - the flow pages' static assets: constant, served from memory and cached by browsers; limited,
 *   a page let through at the end of a window could lose its script (and WebAuthn with it);
 * - no route: the 404 answer costs no more than counting it would.
 */
export function isRateLimited(route: string | undefined): boolean {
  if (route === undefined) return false;
  if (route.startsWith("/v1/") || PROBES.has(route)) return false;
  return !route.startsWith(FLOW_ASSET_PATH);
}

/**
 * Registers `@fastify/rate-limit` and an `onRequest` hook that counts every request to a limited
 * route ({@link isRateLimited}) against its client address, one count for all of them, and
 * answers 429 with `Retry-After` past the limit, before the body is read. Call it before the
 * routes are registered.
 *
 * The address is `request.ip`: the TCP peer, or the first untrusted `X-Forwarded-For` entry from
 * the right when `trustProxy` names the proxies, as every per-address limit of the server counts.
 * An IPv6 address counts by its /64, the block one host or one site usually holds; an IPv4 address
 * mapped into IPv6 counts as the IPv4 one. Addresses on internal networks are not counted
 * ({@link isInternalAddress}). The counts live in this instance's memory.
 */
export function limitUnauthenticatedRoutes(server: FastifyInstance, limit: RateLimit): void {
  if (!limit.enabled) return;
  // `global: false`: no route gets the plugin's own hook, which would throw its error to the
  // routes' error handlers (a 400 or a flow page there); this module answers by itself.
  void server.register(rateLimit, {
    global: false,
    max: limit.max,
    timeWindow: limit.windowSeconds * 1000,
    cache: limit.maxAddresses,
    ipv6Subnet: 64,
  });
  server.after((error) => {
    if (error !== null) throw error;
    // Without options, the checker counts in the store the plugin made with the options above.
    const check = server.createRateLimit();
    server.addHook("onRequest", async (request, reply) => {
      if (!isRateLimited(request.routeOptions.url) || isInternalAddress(request.ip)) return;
      const counted = await check(request);
      if (counted.isAllowed || !counted.isExceeded) return;
      // The completion line logs the 429: no line of its own, so that a flood does not double
      // the log's volume.
      return sendRateLimited(request, reply, limit, Math.max(1, counted.ttlInSeconds));
    });
  });
}

/**
 * Answers a limited request as its route answers its other failures: a page for a browser's
 * navigation (src/http/routes/hosted-flow-routes.ts, federation-routes.ts), a problem document
 * for scripts and machines.
 */
function sendRateLimited(
  request: FastifyRequest,
  reply: FastifyReply,
  limit: RateLimit,
  retryAfter: number,
): FastifyReply {
  void reply.code(429).header("retry-after", String(retryAfter));
  if (answersWithPage(request)) return reply.type(HTML).send(page(retryAfter));
  const { problem } = renderProblem(
    new HttpProblem(
      RATE_LIMITED,
      `More than ${String(limit.max)} requests in ${String(limit.windowSeconds)} seconds came from this client address; retry in ${String(retryAfter)} seconds.`,
    ),
    requestTarget(request.url).path,
  );
  return reply.type(PROBLEM_MEDIA_TYPE).send(JSON.stringify({ ...problem, retryAfter }));
}

function answersWithPage(request: FastifyRequest): boolean {
  const route = request.routeOptions.url ?? "";
  if (route === FLOW_PAGE_ROUTE) return true;
  // As the federation endpoints answer their other failures.
  return route.startsWith(FEDERATION_ROUTE_PREFIX) && !wantsJson(request);
}

function page(retryAfter: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Too many requests</title></head>
<body><main>
<h1>Too many requests</h1>
<p>Too many requests came from your network in a short time. Wait ${String(retryAfter)} seconds, then try again.</p>
<p>Reference: <code>${RATE_LIMITED}</code>. If this keeps happening, tell your administrator this reference.</p>
</main></body></html>
`;
}
