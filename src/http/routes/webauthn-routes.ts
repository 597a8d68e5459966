import type { FastifyInstance } from "fastify";
import { addRoute } from "../add-route.js";
import {
  principalParams,
  tenantParams,
  webauthnAuthenticationBody,
  webauthnAuthenticationParams,
  webauthnBeginBody,
  webauthnRegistrationBeginBody,
  webauthnRegistrationBody,
  webauthnRegistrationParams,
  webauthnSettingsBody,
} from "../request-schemas.js";
import {
  webauthnAuthenticationStart,
  webauthnAuthenticatorView,
  webauthnRegistrationStart,
  webauthnSettingsView,
  webauthnVerification,
} from "../response-schemas.js";
import { noStore, type ApiContext } from "./api-context.js";
import { BINDING_SINCE, THROTTLING } from "./authenticator-routes.js";
import {
  SETTINGS_ETAG,
  SETTINGS_IF_MATCH,
  withSettingsEtag,
  writeSettings,
} from "./settings-if-match.js";

const BASE = "/v1/tenants/:tenant/principals/:principal/authenticators/webauthn";

/**
 * WebAuthn over HTTP: a tenant's relying party (administrators), and the registration and
 * authentication ceremonies the platform's backend runs for a principal. Options go out as the
 * JSON @simplewebauthn/browser takes; its response JSON comes back as `response`. Nothing here
 * is cacheable: every answer is `no-store`.
 */
export function registerWebAuthnRoutes(server: FastifyInstance, context: ApiContext): void {
  const { app, authenticate } = context;

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/webauthn",
    tag: "webauthn",
    summary: "Read the tenant's WebAuthn relying party (or the defaults in force)",
    params: tenantParams,
    success: {
      status: 200,
      description: "The settings in force.",
      schema: webauthnSettingsView,
      headers: [SETTINGS_ETAG],
    },
    problems: [409],
    handler: async ({ params, caller, reply }) =>
      noStore(reply, withSettingsEtag(reply, await app.webauthn.settings(caller, params.tenant))),
  });

  addRoute(server, authenticate, {
    method: "PUT",
    url: "/v1/tenants/:tenant/webauthn",
    tag: "webauthn",
    summary:
      "Set the tenant's WebAuthn relying party: RP id, origins, UV, attestation, models (with If-Match, only over the settings read)",
    params: tenantParams,
    body: webauthnSettingsBody,
    requestHeaders: [SETTINGS_IF_MATCH],
    success: {
      status: 200,
      description: "The settings now in force.",
      schema: webauthnSettingsView,
      headers: [SETTINGS_ETAG],
    },
    problems: [412, 422],
    handler: async ({ params, body, caller, request, reply }) =>
      noStore(
        reply,
        await writeSettings(request, reply, (ifMatch) =>
          app.webauthn.putSettings(caller, params.tenant, body, { ifMatch }),
        ),
      ),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/registrations`,
    tag: "webauthn",
    summary: "Begin registering a passkey or security key: creation options for the browser",
    params: principalParams,
    body: webauthnRegistrationBeginBody,
    success: {
      status: 201,
      description: "The ceremony and its options; finish it before `expiresAt`.",
      schema: webauthnRegistrationStart,
    },
    problems: [409, 422],
    handler: async ({ params, body, caller, reply }) =>
      noStore(
        reply,
        await app.webauthn.beginRegistration(
          caller,
          params.tenant,
          params.principal,
          body?.attestation === undefined ? {} : { attestation: body.attestation },
        ),
      ),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/registrations/:registration`,
    tag: "webauthn",
    summary: "Finish a registration with the browser's response; the credential then counts",
    description: BINDING_SINCE,
    params: webauthnRegistrationParams,
    body: webauthnRegistrationBody,
    success: { status: 201, description: "The new credential.", schema: webauthnAuthenticatorView },
    problems: [409, 422],
    handler: async ({ params, body, caller, reply }) =>
      noStore(
        reply,
        await app.webauthn.finishRegistration(
          caller,
          params.tenant,
          params.principal,
          params.registration,
          body,
        ),
      ),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/authentications`,
    tag: "webauthn",
    summary: "Begin an authentication: request options for the principal's credentials",
    params: principalParams,
    body: webauthnBeginBody,
    success: {
      status: 201,
      description: "The ceremony and its options; finish it before `expiresAt`.",
      schema: webauthnAuthenticationStart,
    },
    problems: [409, 422],
    handler: async ({ params, caller, reply }) =>
      noStore(
        reply,
        await app.webauthn.beginAuthentication(caller, params.tenant, params.principal),
      ),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: `${BASE}/authentications/:authentication`,
    tag: "webauthn",
    summary: "Finish an authentication with the browser's assertion; each challenge is used once",
    description:
      `${THROTTLING} A throttled attempt leaves its challenge unused: the same assertion may ` +
      "be sent again after the wait, while the ceremony lasts.",
    params: webauthnAuthenticationParams,
    body: webauthnAuthenticationBody,
    success: {
      status: 200,
      description: "The WebAuthn event to send as evidence with the decision request.",
      schema: webauthnVerification,
    },
    problems: [409, 422, 423],
    handler: async ({ params, body, caller, reply }) =>
      noStore(
        reply,
        await app.webauthn.finishAuthentication(
          caller,
          params.tenant,
          params.principal,
          params.authentication,
          body,
        ),
      ),
  });
}
