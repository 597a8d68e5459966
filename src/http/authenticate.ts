import type { FastifyRequest } from "fastify";
import type { Application, Caller } from "../app/application.js";
import { clientKey } from "../app/authenticators/verification-throttle.js";
import { AppError } from "../app/errors.js";
import { HttpProblem } from "./problem.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated caller of a `/v1` route; `null` before authentication. */
    caller: Caller | null;
  }
}

/** How many failed attempts an address may make in a window before it must wait. */
export interface FailureLimit {
  readonly attempts: number;
  readonly windowMs: number;
}

/** How many client addresses a {@link FailureLimiter} remembers at most (about 25 MB of heap). */
export const MAX_TRACKED_ADDRESSES = 100_000;

/**
 * Counts failed authentications per client address (a key of {@link failureKey}), in fixed
 * windows. The table is bounded: clients with many networks (an IPv6 /48 holds 65 536 /64s) make
 * it forget the address whose last failure is the oldest, never grow or slow down; forgetting
 * costs that address its back-off only, as keys are never guessed (see
 * {@link bearerAuthentication}).
 */
export class FailureLimiter {
  readonly #limit: FailureLimit;
  readonly #now: () => number;
  readonly #maxEntries: number;
  /** In the order of each address's last failure (a Map keeps insertion order). */
  readonly #failures = new Map<string, { count: number; resetAt: number }>();
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(limit: FailureLimit, now: () => number, maxEntries = MAX_TRACKED_ADDRESSES) {
    this.#limit = limit;
    this.#now = now;
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** How many addresses are remembered now. */
  get size(): number {
    return this.#failures.size;
  }

  /** Seconds to wait before the next attempt, or 0 when the address may try now. */
  retryAfter(address: string): number {
    const entry = this.#failures.get(address);
    if (entry === undefined) return 0;
    const now = this.#now();
    if (entry.resetAt <= now) {
      this.#failures.delete(address);
      return 0;
    }
    return entry.count >= this.#limit.attempts ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  fail(address: string): void {
    const now = this.#now();
    // Every entry expires within one window, so a sweep more often would find little to remove:
    // at most one per window keeps the cost per failure constant, amortised.
    if (now - this.#sweptAt >= this.#limit.windowMs) {
      this.#sweep(now);
      this.#sweptAt = now;
    }
    const entry = this.#failures.get(address);
    // Deleted and set again, so that the address moves to the end of the order.
    this.#failures.delete(address);
    if (entry !== undefined && entry.resetAt > now) {
      this.#failures.set(address, { count: entry.count + 1, resetAt: entry.resetAt });
      return;
    }
    while (this.#failures.size >= this.#maxEntries) {
      const oldest = this.#failures.keys().next();
      if (oldest.done === true) break;
      this.#failures.delete(oldest.value);
    }
    this.#failures.set(address, { count: 1, resetAt: now + this.#limit.windowMs });
  }

  #sweep(now: number): void {
    for (const [address, entry] of this.#failures) {
      if (entry.resetAt <= now) this.#failures.delete(address);
    }
  }
}

/**
 * The key a client address's failures count under: as the verification throttle keys it
 * (src/app/authenticators/verification-throttle.ts) and the rate limit counts it, an IPv6 address
 * by its /64, which one subscriber usually holds whole (each of its 2^64 addresses would
 * otherwise have a back-off of its own), an IPv4 address as it is, also when mapped into IPv6.
 * An address that is not an IP address (a trusted proxy that forwarded something else) counts
 * as it is written.
 */
export function failureKey(address: string): string {
  try {
    return clientKey(address);
  } catch {
    return address;
  }
}

/** `Bearer <token>` (RFC 6750 §2.1), the scheme in any case; the token is the first group. */
export const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/**
 * Builds the `onRequest` hook of every `/v1` route: `Authorization: Bearer <secret>` is resolved
 * to a caller by the application; repeated failures from one address (an IPv6 address's /64:
 * {@link failureKey}) are slowed down.
 *
 * A valid key is never slowed down, whatever its address did: addresses are shared (a NAT, a
 * load balancer in front of a server without `trustProxy`), and one client retrying a revoked
 * key must not lock the platform's backend out of the decision API. Keys hold 256 random bits,
 * so checking a limited address's attempts gives no guess a chance; a wrong one is answered
 * 429 with `Retry-After` instead of 401 until the window ends.
 */
export function bearerAuthentication(app: Application, limiter: FailureLimiter) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (header === undefined || header === "") throw new AppError("auth.missing_credentials");
    const match = BEARER.exec(header);
    if (match?.[1] === undefined) {
      throw new AppError(
        "auth.missing_credentials",
        "Send the API key as `Authorization: Bearer <key>`; no other scheme is accepted.",
      );
    }
    try {
      request.caller = await app.authenticate(match[1]);
    } catch (error) {
      if (error instanceof AppError && error.code === "auth.invalid_credentials") {
        const address = failureKey(request.ip);
        const retryAfter = limiter.retryAfter(address);
        if (retryAfter > 0) {
          throw new HttpProblem("auth.rate_limited", undefined, {
            "retry-after": String(retryAfter),
          });
        }
        limiter.fail(address);
      }
      throw error;
    }
  };
}
