import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { addRoute } from "../add-route.js";
import {
  idpParams,
  idpRegistrationBody,
  storableString,
  returnUrlsBody,
  tenantParams,
} from "../request-schemas.js";
import { idpView, tenantRecord } from "../response-schemas.js";
import { segment, type ApiContext } from "./api-context.js";
import { SETTINGS_ETAG, SETTINGS_IF_MATCH, writeSettings } from "./settings-if-match.js";
import { parseIfMatch } from "./tenant-routes.js";

const IF_MATCH = {
  name: "if-match",
  description:
    'Required to replace a registered IdP: its version, e.g. `"2"`. Omit it to register.',
};
const REMOVAL_IF_MATCH = {
  name: "if-match",
  description:
    'Optional: the version being removed, e.g. `"2"`; a registration replaced since is kept (412).',
};
const ETAG = { name: "etag", description: 'The IdP registration version, e.g. `"3"`.' };
const TENANT_SETTINGS = {
  status: 200,
  description: "The tenant, with the ETag of its settings.",
  schema: tenantRecord,
  headers: [SETTINGS_ETAG],
} as const;

/** A tenant's identity providers and the URLs its sign-in flows may return to. */
export function registerIdpRoutes(server: FastifyInstance, context: ApiContext): void {
  const { app, authenticate } = context;

  addRoute(server, authenticate, {
    method: "PUT",
    url: "/v1/tenants/:tenant/return-urls",
    tag: "tenants",
    summary:
      "Replace the URLs that sign-in flows may return to (with If-Match, only over the tenant read)",
    params: tenantParams,
    body: returnUrlsBody,
    requestHeaders: [SETTINGS_IF_MATCH],
    success: TENANT_SETTINGS,
    problems: [412],
    handler: ({ params, body, caller, request, reply }) =>
      writeSettings(request, reply, (ifMatch) =>
        app.tenants.setReturnUrls(caller, params.tenant, body, { ifMatch }),
      ),
  });

  addRoute(server, authenticate, {
    method: "PUT",
    url: "/v1/tenants/:tenant/branding",
    tag: "tenants",
    summary:
      "Set or remove the logo shown on the tenant's hosted pages (with If-Match, only over the tenant read)",
    params: tenantParams,
    body: z.strictObject({
      logoUrl: storableString()
        .max(2000)
        .nullable()
        .describe("An https URL of the logo (http only on loopback), or null to remove it."),
    }),
    requestHeaders: [SETTINGS_IF_MATCH],
    success: TENANT_SETTINGS,
    problems: [412],
    handler: ({ params, body, caller, request, reply }) =>
      writeSettings(request, reply, (ifMatch) =>
        app.tenants.setBranding(caller, params.tenant, body, { ifMatch }),
      ),
  });

  addRoute(server, authenticate, {
    method: "PUT",
    url: "/v1/tenants/:tenant/idps/:idp",
    tag: "idps",
    summary: "Register or replace an identity provider (SAML 2.0 or OpenID Connect)",
    params: idpParams,
    body: idpRegistrationBody,
    requestHeaders: [IF_MATCH],
    success: {
      status: 200,
      description: "The IdP as registered (201 when created). The client secret is never shown.",
      alsoStatuses: [201],
      schema: idpView,
      headers: [ETAG, { name: "location", description: "The IdP's URL, when created." }],
    },
    problems: [412, 422, 428],
    handler: async ({ params, body, caller, request, reply }) => {
      const { idp, created } = await app.idps.put(caller, params.tenant, params.idp, {
        registration: body,
        ifMatch: parseIfMatch(request.headers["if-match"]),
      });
      reply.header("etag", `"${String(idp.version)}"`);
      if (created) {
        reply.code(201);
        reply.header("location", `/v1/tenants/${segment(idp.tenant)}/idps/${segment(idp.id)}`);
      }
      return idp;
    },
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/idps/:idp",
    tag: "idps",
    summary: "Read an identity provider registration",
    params: idpParams,
    success: { status: 200, description: "The IdP.", schema: idpView, headers: [ETAG] },
    handler: async ({ params, caller, reply }) => {
      const idp = await app.idps.get(caller, params.tenant, params.idp);
      reply.header("etag", `"${String(idp.version)}"`);
      return idp;
    },
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/idps",
    tag: "idps",
    summary: "List the tenant's identity providers",
    params: tenantParams,
    success: {
      status: 200,
      description: "Every IdP of the tenant.",
      schema: z.object({ items: z.array(idpView) }),
    },
    handler: async ({ params, caller }) => ({
      items: await app.idps.list(caller, params.tenant),
    }),
  });

  addRoute(server, authenticate, {
    method: "DELETE",
    url: "/v1/tenants/:tenant/idps/:idp",
    tag: "idps",
    summary: "Remove an identity provider (with If-Match, only at the version named)",
    params: idpParams,
    requestHeaders: [REMOVAL_IF_MATCH],
    success: { status: 204, description: "Removed." },
    problems: [412],
    handler: async ({ params, caller, request, reply }) => {
      await app.idps.remove(caller, params.tenant, params.idp, {
        ifMatch: parseIfMatch(request.headers["if-match"]),
      });
      reply.code(204);
      return undefined;
    },
  });
}
