import type { FastifyInstance } from "fastify";
import type { ApiKeyRecord, MandateVersionRecord } from "../../app/records.js";
import { addRoute } from "../add-route.js";
import {
  createApiKeyBody,
  createMandateBody,
  createTenantBody,
  idParams,
  pageQuery,
  rationaleBody,
  tenantParams,
  updateMandateBody,
} from "../request-schemas.js";
import { createdApiKey, mandateRecord, pages, tenantRecord } from "../response-schemas.js";
import { listBody, pageRequest, segment, type ApiContext } from "./api-context.js";
import { answerAuditEvents, auditEventsRoute } from "./audit-events.js";
import { SETTINGS_ETAG, withSettingsEtag } from "./settings-if-match.js";
import { parseIfMatch } from "./tenant-routes.js";

/** An API key as the API shows it: never its hash. */
const apiKeyView = ({ secretHash: _hash, ...view }: ApiKeyRecord) => view;

const MANDATE_IF_MATCH = {
  name: "if-match",
  description: 'The mandate version being replaced, e.g. `"3"`: as its `ETag` gave it.',
};
const MANDATE_ETAG = { name: "etag", description: 'The mandate version, e.g. `"4"`.' };

/** A mandate version, answered with its version as the ETag that a later change must match. */
function withEtag(
  reply: { header(name: string, value: string): unknown },
  record: MandateVersionRecord,
): MandateVersionRecord {
  reply.header("etag", `"${String(record.version)}"`);
  return record;
}

/** Platform administration: mandates, the platform chain, API keys, tenants. */
export function registerPlatformRoutes(server: FastifyInstance, context: ApiContext): void {
  const { app, authenticate } = context;

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/platform/mandates",
    tag: "mandates",
    summary: "Create a platform mandate",
    body: createMandateBody,
    success: {
      status: 201,
      description: "The mandate's first version.",
      schema: mandateRecord,
      headers: [{ name: "location", description: "The mandate's URL." }, MANDATE_ETAG],
    },
    problems: [409, 422],
    handler: async ({ body, caller, reply }) => {
      const record = await app.mandates.create(caller, body);
      reply.header("location", `/v1/platform/mandates/${segment(record.id)}`);
      return withEtag(reply, record);
    },
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/platform/mandates",
    tag: "mandates",
    summary: "List the current version of every mandate",
    success: { status: 200, description: "Every mandate.", schema: pages.mandates },
    handler: async ({ caller }) => listBody({ items: await app.mandates.list(caller) }),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/platform/mandates/:id",
    tag: "mandates",
    summary: "Read a mandate's current version",
    params: idParams,
    success: {
      status: 200,
      description: "The mandate.",
      schema: mandateRecord,
      headers: [MANDATE_ETAG],
    },
    handler: async ({ params, caller, reply }) =>
      withEtag(reply, await app.mandates.get(caller, params.id)),
  });

  addRoute(server, authenticate, {
    method: "PUT",
    url: "/v1/platform/mandates/:id",
    tag: "mandates",
    summary: "Update a mandate (writes a new version; optimistic concurrency with If-Match)",
    params: idParams,
    body: updateMandateBody,
    requestHeaders: [MANDATE_IF_MATCH],
    success: {
      status: 200,
      description: "The new version.",
      schema: mandateRecord,
      headers: [MANDATE_ETAG],
    },
    problems: [409, 412, 422, 428],
    handler: async ({ params, body, caller, request, reply }) => {
      const ifMatch = parseIfMatch(request.headers["if-match"]);
      return withEtag(reply, await app.mandates.update(caller, params.id, { ...body, ifMatch }));
    },
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/platform/mandates/:id/retire",
    tag: "mandates",
    summary: "Retire a mandate (optimistic concurrency with If-Match)",
    params: idParams,
    body: rationaleBody,
    requestHeaders: [MANDATE_IF_MATCH],
    success: {
      status: 200,
      description: "The retired version.",
      schema: mandateRecord,
      headers: [MANDATE_ETAG],
    },
    problems: [409, 412, 428],
    handler: async ({ params, body, caller, request, reply }) => {
      const ifMatch = parseIfMatch(request.headers["if-match"]);
      return withEtag(reply, await app.mandates.retire(caller, params.id, { ...body, ifMatch }));
    },
  });

  addRoute(server, authenticate, {
    ...auditEventsRoute,
    url: "/v1/platform/audit",
    summary:
      "Read the platform chain: mandates and their versions, tenants' creation, API keys, signing keys (JSON pages, or JSON Lines export)",
    description:
      "Platform administrators only: the chain names every tenant and every API key. The same parameters and answers as `GET /v1/tenants/{tenant}/audit`; `GET /v1/audit/checkpoint` without `tenant` signs its head.",
    handler: (route) => answerAuditEvents(app, null, route),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/api-keys",
    tag: "api-keys",
    summary: "Create an API key (its secret is shown once)",
    description:
      "A key reaches `all` tenants or tenants that exist (`not_found` otherwise), and expires, if at all, in the future (`request.invalid` otherwise).",
    body: createApiKeyBody,
    success: {
      status: 201,
      description: "The key and its secret.",
      schema: createdApiKey,
      headers: [{ name: "location", description: "The key's URL." }],
    },
    problems: [422],
    handler: async ({ body, caller, reply }) => {
      const { key, secret } = await app.apiKeys.create(caller, body);
      reply.header("location", `/v1/api-keys/${segment(key.id)}`);
      return { key: apiKeyView(key), secret };
    },
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/api-keys",
    tag: "api-keys",
    summary: "List API keys",
    success: { status: 200, description: "Every key, without secrets.", schema: pages.apiKeys },
    handler: async ({ caller }) =>
      listBody({ items: (await app.apiKeys.list(caller)).map(apiKeyView) }),
  });

  addRoute(server, authenticate, {
    method: "DELETE",
    url: "/v1/api-keys/:id",
    tag: "api-keys",
    summary: "Revoke an API key, and its exemption requests awaiting a decision",
    params: idParams,
    success: {
      status: 204,
      description:
        "Revoked, with each of the key's exemption requests still awaiting a decision, in every tenant.",
    },
    handler: async ({ params, caller }) => {
      await app.apiKeys.revoke(caller, params.id);
    },
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/tenants",
    tag: "tenants",
    summary: "Create a tenant",
    body: createTenantBody,
    success: {
      status: 201,
      description: "The tenant.",
      schema: tenantRecord,
      headers: [{ name: "location", description: "The tenant's URL." }],
    },
    problems: [409],
    handler: async ({ body, caller, reply }) => {
      const tenant = await app.tenants.create(caller, body);
      reply.header("location", `/v1/tenants/${segment(tenant.id)}`);
      return tenant;
    },
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants",
    tag: "tenants",
    summary: "List tenants",
    query: pageQuery,
    success: { status: 200, description: "A page of tenants.", schema: pages.tenants },
    handler: async ({ query, caller }) =>
      listBody(await app.tenants.list(caller, pageRequest(query))),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant",
    tag: "tenants",
    summary: "Read a tenant",
    params: tenantParams,
    success: {
      status: 200,
      description: "The tenant.",
      schema: tenantRecord,
      headers: [SETTINGS_ETAG],
    },
    handler: async ({ params, caller, reply }) =>
      withSettingsEtag(reply, await app.tenants.get(caller, params.tenant)),
  });
}
