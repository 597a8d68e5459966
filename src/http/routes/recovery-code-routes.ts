import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { addRoute } from "../add-route.js";
import { clientAddress, storableString, principalParams, time } from "../request-schemas.js";
import { noStore, type ApiContext } from "./api-context.js";
import { THROTTLING } from "./authenticator-routes.js";

const BASE = "/v1/tenants/:tenant/principals/:principal/authenticators/recovery-codes";

/** A recovery code as typed: its form is checked by the use case, which counts failures. */
export const recoveryCodeBody = z.strictObject({
  code: storableString()
    .max(64)
    .describe("A recovery code as issued; case, dashes and spaces do not matter."),
  clientAddress: clientAddress.optional(),
});

/** Generation takes no options: an empty JSON object, or no body at all. */
export const recoveryCodeGenerationBody = z.strictObject({}).default({});

/** A new set of codes: the only time they are shown. */
export const recoveryCodeIssue = z.object({
  codes: z
    .array(z.string())
    .describe(
      "Ten codes, five groups of four base32 characters (`7KQ2-M9XD-…`), each usable once; shown this once.",
    ),
  createdAt: time,
});

/** The state of a principal's recovery codes: counts and times, never a code. */
export const recoveryCodeStatus = z.object({
  enrolled: z.boolean().describe("Whether the principal holds a set of codes."),
  total: z.int(),
  remaining: z.int(),
  failedAttempts: z.int(),
  createdAt: time.optional(),
  lastUsedAt: time.optional(),
  lockedAt: time.optional(),
});

/** An accepted code: the event to send as evidence, and how many codes are left. */
export const recoveryCodeUse = z.object({
  event: z.object({
    method: z.literal("recovery_code"),
    source: z.literal("platform"),
    at: time,
    verification: z
      .string()
      .describe(
        "The audit event that recorded this verification: send the event as it is, and the decision API checks it against that record.",
      ),
  }),
  remaining: z.int(),
  notice: z
    .object({
      code: z.enum(["recovery_codes.running_low", "recovery_codes.exhausted"]),
      message: z.string(),
    })
    .optional()
    .describe(
      "Present when three or fewer codes are left: ask the principal to generate new ones.",
    ),
});

/**
 * A principal's recovery codes, called by the platform's backend on the principal's behalf
 * (`platform_service`); administrators read their state and revoke them.
 */
export function registerRecoveryCodeRoutes(server: FastifyInstance, context: ApiContext): void {
  const { app, authenticate } = context;

  addRoute(server, authenticate, {
    method: "POST",
    url: BASE,
    tag: "authenticators",
    summary: "Generate ten recovery codes, shown once; they replace any earlier ones",
    params: principalParams,
    body: recoveryCodeGenerationBody,
    success: {
      status: 201,
      description: "The new codes, shown this once; the earlier codes no longer work.",
      schema: recoveryCodeIssue,
    },
    problems: [422, 423],
    handler: async ({ params, caller, reply }) =>
      noStore(reply, await app.recoveryCodes.generate(caller, params.tenant, params.principal)),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: BASE,
    tag: "authenticators",
    summary: "How many recovery codes a principal has left (never the codes)",
    params: principalParams,
    success: { status: 200, description: "The state of the codes.", schema: recoveryCodeStatus },
    handler: ({ params, caller }) =>
      app.recoveryCodes.status(caller, params.tenant, params.principal),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/verify`,
    tag: "authenticators",
    summary: "Verify a recovery code; each code is accepted once",
    description: `${THROTTLING} A throttled attempt uses no code.`,
    params: principalParams,
    body: recoveryCodeBody,
    success: {
      status: 200,
      description: "The recovery-code event to send as evidence with the decision request.",
      schema: recoveryCodeUse,
    },
    problems: [422, 423],
    handler: ({ params, body, caller }) =>
      app.recoveryCodes.verify(caller, params.tenant, params.principal, body),
  });

  addRoute(server, authenticate, {
    method: "DELETE",
    url: BASE,
    tag: "authenticators",
    summary: "Revoke a principal's recovery codes (this also lifts a lock)",
    description:
      "Administrators and the platform's backend (`platform_service`) revoke; the backend only " +
      "after a successful verification of the principal within the last 5 minutes, else 403 " +
      "`authenticator.fresh_mfa_required`. Revoking is never refused as the last method: codes " +
      "that may have leaked must go at once.",
    params: principalParams,
    success: { status: 204, description: "Revoked." },
    handler: async ({ params, caller, reply }) => {
      await app.recoveryCodes.revoke(caller, params.tenant, params.principal);
      reply.code(204);
      return undefined;
    },
  });
}
