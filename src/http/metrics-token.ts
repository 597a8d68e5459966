import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { BEARER, failureKey, type FailureLimiter } from "./authenticate.js";
import { HttpProblem } from "./problem.js";

/** The challenge of a refused `/metrics` request: its own realm, as the token is not an API key. */
export const METRICS_CHALLENGE = 'Bearer realm="tenant-mfa metrics"';

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

/**
 * The `onRequest` hook of `/metrics` when `metrics.token` is set: `Authorization: Bearer <token>`
 * or 401 `metrics.unauthorized` with `WWW-Authenticate` (`error="invalid_token"` for a wrong
 * one, RFC 6750 §3.1). The token given and the configured one are compared as SHA-256 digests
 * with `timingSafeEqual`, so that neither the time taken nor an early length check tells how
 * much of a guess was right. Wrong tokens count against the address's budget of wrong
 * credentials (`failures`, the one API keys count against): past it a wrong token answers 429
 * `auth.rate_limited` with `Retry-After` until the window ends, so that a token an operator chose
 * with little randomness is not guessed at the network's speed. The right token is never slowed
 * down, whatever its address did (a scraper behind a NAT shared with a guesser).
 */
export function requireMetricsToken(token: string, failures: FailureLimiter) {
  const expected = digest(token);
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (given === undefined) {
      done(
        new HttpProblem(
          "metrics.unauthorized",
          "The metrics need the metrics token, as `Authorization: Bearer <token>`.",
          { "www-authenticate": METRICS_CHALLENGE },
        ),
      );
    } else if (!timingSafeEqual(digest(given), expected)) {
      const address = failureKey(request.ip);
      const retryAfter = failures.retryAfter(address);
      if (retryAfter > 0) {
        done(
          new HttpProblem("auth.rate_limited", undefined, { "retry-after": String(retryAfter) }),
        );
        return;
      }
      failures.fail(address);
      done(
        new HttpProblem("metrics.unauthorized", "The metrics token is wrong.", {
          "www-authenticate": `${METRICS_CHALLENGE}, error="invalid_token"`,
        }),
      );
    } else done();
  };
}
