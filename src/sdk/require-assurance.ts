import type { IncomingMessage, ServerResponse } from "node:http";
import type { AssuranceTokenClaims } from "./assurance-token-claims.js";
import {
  assertGuardOptions,
  guardAssurance,
  type AssuranceGuardOptions,
  type GuardOutcome,
} from "./guard-assurance.js";

/** A request the middleware has let through: the verified claims are on it. */
export type AssuredRequest<Req extends IncomingMessage = IncomingMessage> = Req & {
  assurance?: AssuranceTokenClaims;
};

/**
 * Express-style middleware (`(req, res, next)`, on Node's own request and response) that lets a
 * request through only with an assurance token meeting the action's needs. On success the claims
 * are on `req.assurance` (and `res.locals.assurance` under Express). Otherwise it answers itself:
 * 401 for a missing or refused token, 403 with the shortfall, 503 when the keys cannot be fetched,
 * or 303 to a hosted flow when `stepUp` is configured. An error while starting a flow goes to
 * `next(error)`.
 */
export function requireAssurance<Req extends IncomingMessage = IncomingMessage>(
  options: AssuranceGuardOptions<Req>,
) {
  assertGuardOptions(options);
  return (req: AssuredRequest<Req>, res: ServerResponse, next: (error?: unknown) => void): void => {
    guardAssurance(options, req).then(
      (outcome) => {
        if (outcome.kind === "pass") {
          req.assurance = outcome.claims;
          const locals = (res as ServerResponse & { locals?: unknown }).locals;
          if (typeof locals === "object" && locals !== null)
            (locals as { assurance?: AssuranceTokenClaims }).assurance = outcome.claims;
          next();
          return;
        }
        answer(res, outcome);
      },
      (error: unknown) => {
        next(error);
      },
    );
  };
}

function answer(res: ServerResponse, outcome: Exclude<GuardOutcome, { kind: "pass" }>): void {
  if (outcome.kind === "redirect") {
    res.writeHead(303, { location: outcome.location, "cache-control": "no-store" });
    res.end();
    return;
  }
  const body = JSON.stringify(outcome.problem);
  res.writeHead(outcome.problem.status, {
    ...outcome.headers,
    "content-type": "application/problem+json",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}
