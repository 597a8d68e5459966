import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ASSURANCE_TOKEN_TYPE } from "../../core/assurance-claims.js";
import { POPULATIONS } from "../../core/vocabulary.js";
import { addRoute } from "../add-route.js";
import {
  storableString,
  principalReference,
  requirementSpec,
  tenantParams,
  time,
} from "../request-schemas.js";
import { noStore, type ApiContext } from "./api-context.js";

/**
 * What the platform's backend sends to start a hosted flow. Names follow the contract
 * (`return_to`, `step_up`): the flow API reads like the OAuth endpoints it resembles.
 */
export const flowCreationBody = z.strictObject({
  principal: z.strictObject({
    id: principalReference,
    population: z.enum(POPULATIONS).optional(),
  }),
  verified: z
    .array(
      z.strictObject({ method: z.literal("password"), source: z.literal("platform"), at: time }),
    )
    .max(5)
    .optional()
    .describe(
      "The platform's own password check, if it made one; every MFA method is proven in the flow.",
    ),
  return_to: storableString()
    .max(2000)
    .describe("Where the user returns with `code` and `state`: a registered return URL."),
  state: storableString().max(500).optional().describe("Echoed back beside the code."),
  audience: storableString()
    .min(1)
    .max(200)
    .optional()
    .describe(
      "The assurance token's `aud`; by default the id of this API key. A key created with `audiences` may name only those (`flow.audience_not_allowed`).",
    ),
  step_up: requirementSpec
    .optional()
    .describe("More than the policy asks, for a sensitive action; only the difference is asked."),
  ttl_seconds: z.int().min(60).max(3600).optional().describe("Default 600."),
});

const flowStart = z.object({
  flow: z.string().describe("The flow's id, as audit events name it; it does not open the flow."),
  url: z
    .string()
    .describe(
      "Send the user's browser here, exactly as given: it carries the secret (`open`) that the flow's first visit must bring. Keep it as secret as a password reset link.",
    ),
  expires_at: time,
});

const exchangeBody = z.strictObject({
  // Only its hash reaches the store: a code holding NUL is answered as one nobody issued is.
  code: z.string().max(200).describe("The `code` the user's browser brought back to `return_to`."),
});

const exchangeResult = z.object({
  token: z.string().describe("The assurance token, a JWT; verify it with /.well-known/jwks.json."),
  token_type: z.literal(ASSURANCE_TOKEN_TYPE),
  expires_in: z.int(),
  tenant: z.string(),
  principal: z.string(),
  decision: z.string().describe("The receipt of the decision the token vouches for."),
});

/**
 * The flow API of the platform's backend (`platform_service`): create a hosted flow, and
 * exchange the one-time code it returns for a signed assurance token.
 */
export function registerFlowRoutes(server: FastifyInstance, context: ApiContext): void {
  const { app, authenticate } = context;

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/tenants/:tenant/flows",
    tag: "flows",
    summary: "Create a hosted flow: the page that walks the user through their MFA",
    description:
      "Flows expire (default 10 minutes), are used once, and belong to the first browser that " +
      "opens them. When the requirement is met the browser returns to `return_to` with a " +
      "one-time `code` (valid one minute) and `state`; on a refusal with `error=access_denied`, " +
      "or `error=reauthenticate` when the platform must check its own first factor again.",
    params: tenantParams,
    body: flowCreationBody,
    success: { status: 201, description: "Where to send the user.", schema: flowStart },
    handler: async ({ params, body, caller, reply }) => {
      const started = await app.flows.create(caller, params.tenant, {
        principal: body.principal,
        ...(body.verified === undefined ? {} : { verified: body.verified }),
        returnTo: body.return_to,
        ...(body.state === undefined ? {} : { state: body.state }),
        ...(body.audience === undefined ? {} : { audience: body.audience }),
        ...(body.step_up === undefined ? {} : { stepUp: body.step_up }),
        ...(body.ttl_seconds === undefined ? {} : { ttlSeconds: body.ttl_seconds }),
      });
      return noStore(reply, {
        flow: started.flow,
        url: started.url,
        expires_at: started.expiresAt,
      });
    },
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/flows/exchange",
    tag: "flows",
    summary: "Exchange a flow's one-time code for a signed assurance token",
    description:
      "Only the API key that created the flow can exchange its code, once, within a minute. " +
      "Every refusal answers `flow.code_invalid` alike and is audited.",
    body: exchangeBody,
    success: { status: 200, description: "The assurance token.", schema: exchangeResult },
    handler: async ({ body, caller, reply }) => {
      const exchanged = await app.flows.exchange(caller, body);
      return noStore(reply, {
        token: exchanged.token,
        token_type: exchanged.tokenType,
        expires_in: exchanged.expiresIn,
        tenant: exchanged.tenant,
        principal: exchanged.principal,
        decision: exchanged.decision,
      });
    },
  });
}
