import type { FastifyReply, FastifyRequest } from "fastify";
import type { Application, PageRequest } from "../../app/application.js";
import type { Page } from "../../app/ports.js";
import type { Metrics } from "../metrics.js";

/** What the `/v1` route modules need: the use cases, authentication, metrics and the time. */
export interface ApiContext {
  readonly app: Application;
  readonly authenticate: (request: FastifyRequest) => Promise<void>;
  readonly metrics: Metrics;
  readonly now: () => Date;
}

/** The JSON shape of every list: its items and the cursor of the next page (`null` at the end). */
export interface ListBody<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

/** Renders a page of the application as a list body. */
export const listBody = <T>(page: Page<T>): ListBody<T> => ({
  items: page.items,
  next: page.next ?? null,
});

/** The page request of a parsed `after` / `limit` query. */
export function pageRequest(query: { after?: string; limit?: number }): PageRequest {
  return {
    ...(query.after === undefined ? {} : { after: query.after }),
    ...(query.limit === undefined ? {} : { limit: query.limit }),
  };
}

/** Encodes one path segment for a `Location` header. */
export const segment = (value: string): string => encodeURIComponent(value);

/**
 * Hands `answer` back marked `no-store`, for an answer that holds a secret or a one-time
 * challenge: said by the route itself, not left to the server-wide default.
 */
export function noStore<T>(reply: FastifyReply, answer: T): T {
  reply.header("cache-control", "no-store");
  return answer;
}
