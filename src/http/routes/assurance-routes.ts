import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { addRoute } from "../add-route.js";
import { RATE_LIMITED_RESPONSE } from "../rate-limit.js";
import type { ApiContext } from "./api-context.js";

/** How long verifiers may cache the key set: successors are published days before they sign. */
const JWKS_MAX_AGE_SECONDS = 300;

const jwksSchema = {
  type: "object",
  required: ["keys"],
  properties: { keys: { type: "array", items: { type: "object" } } },
} as const;

/** The keys that verify assurance tokens, and their rotation. */
export function registerAssuranceRoutes(server: FastifyInstance, context: ApiContext): void {
  const { app, authenticate } = context;

  server.get(
    "/.well-known/jwks.json",
    {
      schema: {
        summary: "The public keys that verify assurance tokens (RFC 7517 JWK Set)",
        description:
          "Every key a valid token may name: the one signing now, its published successor and " +
          "recently retired keys. Cache for at most the `max-age` given.",
        tags: ["assurance"],
        response: {
          200: {
            description: "The JWK Set.",
            content: { "application/json": { schema: jwksSchema } },
          },
          429: RATE_LIMITED_RESPONSE,
        },
      },
    },
    async (_request, reply) => {
      const jwks = await app.assurance.jwks();
      reply.header("cache-control", `public, max-age=${String(JWKS_MAX_AGE_SECONDS)}`);
      return jwks;
    },
  );

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/platform/signing-keys/rotate",
    tag: "assurance",
    summary: "Rotate the assurance-token signing key now",
    body: z.strictObject({ compromised: z.boolean().optional() }),
    success: {
      status: 200,
      description:
        "The new key's id. With `compromised`, every earlier key left the JWK Set at once.",
      schema: z.object({ kid: z.string() }),
    },
    handler: ({ body, caller }) =>
      app.assurance.rotateSigningKey(caller, {
        ...(body.compromised === undefined ? {} : { compromised: body.compromised }),
      }),
  });
}
