import type { FastifyReply, FastifyRequest } from "fastify";
import type { AssuranceTokenClaims } from "./assurance-token-claims.js";
import {
  assertGuardOptions,
  guardAssurance,
  type AssuranceGuardOptions,
} from "./guard-assurance.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The verified assurance claims, set by the `assurancePreHandler` guarding the route. */
    assurance?: AssuranceTokenClaims;
  }
}

/**
 * A Fastify `preHandler` that lets a request through only with an assurance token meeting the
 * action's needs; the claims are then on `request.assurance`. Otherwise it replies itself, as
 * {@link requireAssurance} does (401, 403 with the shortfall, 503, or 303 to a hosted flow).
 * Use it per route (`{ preHandler: assurancePreHandler(...) }`) or for a scope
 * (`app.addHook("preHandler", ...)`).
 */
export function assurancePreHandler<Req extends FastifyRequest = FastifyRequest>(
  options: AssuranceGuardOptions<Req>,
) {
  assertGuardOptions(options);
  return async (request: Req, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const outcome = await guardAssurance(options, request);
    if (outcome.kind === "pass") {
      request.assurance = outcome.claims;
      return undefined;
    }
    if (outcome.kind === "redirect")
      return reply.code(303).header("cache-control", "no-store").redirect(outcome.location, 303);
    return reply
      .code(outcome.problem.status)
      .headers(outcome.headers)
      .type("application/problem+json")
      .send(JSON.stringify(outcome.problem));
  };
}
