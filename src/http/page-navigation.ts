import type { FastifyRequest } from "fastify";

/**
 * Whether a browser-facing GET that changes something (binds a flow, sets a browser cookie,
 * spends a one-time answer) may run: only when the browser navigates a window to it. An
 * `<iframe>`, `<embed>`, `<object>` or `<img>` of another site aiming at it arrives without the
 * Lax cookie and out of the user's sight, and would bind, set or spend what the user's own visit
 * needs (and a framed page can be dressed by the site around it). Fetch Metadata says which:
 * `Sec-Fetch-Dest: document` is a top-level navigation. Browsers too old to send the header are
 * let through, as nothing tells their requests apart.
 */
export function isPageNavigation(request: FastifyRequest): boolean {
  const destination = request.headers["sec-fetch-dest"];
  return destination === undefined || destination === "document";
}
