import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { addRoute } from "../add-route.js";
import {
  authenticatorParams,
  principalParams,
  totpCodeBody,
  totpEnrolmentBody,
  unlockBody,
} from "../request-schemas.js";
import {
  authenticatorView,
  listedAuthenticator,
  totpEnrolment,
  totpVerification,
  unlockResult,
} from "../response-schemas.js";
import { noStore, segment, type ApiContext } from "./api-context.js";

const BASE = "/v1/tenants/:tenant/principals/:principal/authenticators";

/**
 * A principal's authenticators on the platform, called by the platform's backend on the
 * principal's behalf (`platform_service`); administrators list, remove and unlock.
 */
export function registerAuthenticatorRoutes(server: FastifyInstance, context: ApiContext): void {
  const { app, authenticate } = context;

  addRoute(server, authenticate, {
    method: "GET",
    url: BASE,
    tag: "authenticators",
    summary: "List a principal's authenticators (never their secrets)",
    params: principalParams,
    success: {
      status: 200,
      description: "Every authenticator of the principal, oldest first.",
      schema: z.object({ items: z.array(listedAuthenticator) }),
    },
    handler: async ({ params, caller }) => ({
      items: await app.authenticators.list(caller, params.tenant, params.principal),
    }),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/totp`,
    tag: "authenticators",
    summary: "Begin a TOTP enrolment: the secret, key URI and QR code, shown once",
    params: principalParams,
    body: totpEnrolmentBody,
    success: {
      status: 201,
      description:
        "A pending authenticator and its secret, shown this once; confirm it with a first code " +
        "before its `expiresAt` (`totp.enrolmentTtlSeconds`, 10 minutes by default). The " +
        "principal's enrolments that expired unconfirmed are removed, and so is the oldest still " +
        "waiting when 5 already wait (audited `authenticator.enrolment_replaced`).",
      schema: totpEnrolment,
      headers: [{ name: "location", description: "The authenticator's confirmation URL." }],
    },
    problems: [422],
    handler: async ({ params, body, caller, reply }) => {
      const enrolment = await app.authenticators.beginTotp(
        caller,
        params.tenant,
        params.principal,
        body,
      );
      reply.header(
        "location",
        `/v1/tenants/${segment(params.tenant)}/principals/${segment(params.principal)}/authenticators/${segment(enrolment.authenticator.id)}/confirm`,
      );
      return noStore(reply, enrolment);
    },
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/:id/confirm`,
    tag: "authenticators",
    summary: "Confirm a pending TOTP authenticator with a first valid code",
    description: `${THROTTLING} ${BINDING_SINCE} ${EXPIRY}`,
    params: authenticatorParams,
    body: totpCodeBody,
    success: { status: 200, description: "The active authenticator.", schema: authenticatorView },
    problems: [409, 422, 423],
    handler: ({ params, body, caller }) =>
      app.authenticators.confirmTotp(caller, params.tenant, params.principal, params.id, body),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/:id/verify`,
    tag: "authenticators",
    summary: "Verify a TOTP code; each time step is accepted once",
    description: THROTTLING,
    params: authenticatorParams,
    body: totpCodeBody,
    success: {
      status: 200,
      description: "The TOTP event to send as evidence with the decision request.",
      schema: totpVerification,
    },
    problems: [409, 422, 423],
    handler: ({ params, body, caller }) =>
      app.authenticators.verifyTotp(caller, params.tenant, params.principal, params.id, body),
  });

  addRoute(server, authenticate, {
    method: "DELETE",
    url: `${BASE}/:id`,
    tag: "authenticators",
    summary: "Remove an authenticator",
    description:
      "The platform's backend (`platform_service`) removes an active authenticator only after a " +
      "successful verification of the principal within the last 5 minutes, else 403 " +
      "`authenticator.fresh_mfa_required`; administrators need none (they act for people who " +
      "lost a device). Nobody removes the principal's last active method while policy requires " +
      "MFA of the principal: 409 `authenticator.last_method` (enrol another method first, or " +
      "grant an exemption). A pending authenticator is removed freely.",
    params: authenticatorParams,
    success: { status: 204, description: "Removed." },
    problems: [409],
    handler: async ({ params, caller, reply }) => {
      await app.authenticators.remove(caller, params.tenant, params.principal, params.id);
      reply.code(204);
      return undefined;
    },
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/unlock`,
    tag: "authenticators",
    summary: "Unlock a principal's verification (administrators)",
    description:
      "Lifts the principal's lock (set after 100 failed verifications in a row) and backoff, " +
      "and the failure locks and counts of its TOTP authenticators, WebAuthn credentials (one " +
      "locked by a clone signal under the tenant's `lock` policy too) and recovery codes (the " +
      "codes themselves stay valid); audited as " +
      "`authenticator.unlocked` with who and, when given, why. A lock also lapses by itself " +
      "after an hour.",
    params: principalParams,
    body: unlockBody,
    success: { status: 200, description: "What the unlock lifted.", schema: unlockResult },
    problems: [422],
    handler: ({ params, body, caller }) =>
      app.authenticators.unlock(caller, params.tenant, params.principal, body),
  });
}

/**
 * Why completing an enrolment (a TOTP confirmation, a passkey registration) may need a fresh
 * MFA although beginning it did not.
 */
export const BINDING_SINCE =
  "When the principal bound another method (TOTP, passkey or recovery codes) since this " +
  "enrolment began, the platform's backend completes it only after a successful verification " +
  "of the principal within the last 5 minutes, else 403 `authenticator.fresh_mfa_required`: " +
  "an enrolment begun before the principal held a method binds no method without it.";

/** What a TOTP confirmation past the enrolment's time answers. */
const EXPIRY =
  "A confirmation after the enrolment's `expiresAt` (10 minutes after it began by default, " +
  "`totp.enrolmentTtlSeconds`) answers 409 `authenticator.enrolment_expired`, counts nothing " +
  "and removes the enrolment: begin a new one. Once purged (5 minutes after its `expiresAt`, " +
  "at the earliest) or replaced by newer ones, it answers 404 `not_found`.";

/** How every verification path (TOTP, WebAuthn, recovery codes) is throttled. */
export const THROTTLING =
  "Failed verifications are limited per principal (every method) and, when `clientAddress` is " +
  "sent, per client address: after a few free failures each further one doubles the wait (up " +
  "to 15 minutes), and an attempt before it answers 429 `authenticator.throttled` with " +
  "`Retry-After` and `retryAfter` seconds, without checking the code. 100 failures in a row " +
  "lock the principal: 423 `authenticator.locked` until an administrator unlocks it or an hour " +
  "passes.";
