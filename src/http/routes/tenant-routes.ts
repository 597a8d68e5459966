import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyInstance } from "fastify";
import type { Override } from "../../app/application.js";
import { AppError } from "../../app/errors.js";
import type { ExemptionFilter } from "../../app/ports.js";
import type { PolicyVersionRecord } from "../../app/records.js";
import { addRoute } from "../add-route.js";
import { InvalidRequest } from "../problem.js";
import {
  auditCheckpointQuery,
  auditVerifyQuery,
  decisionRequestBody,
  complianceReportQuery,
  exemptionListQuery,
  exemptionRequestBody,
  idParams,
  pageQuery,
  positionPageQuery,
  principalParams,
  reasonBody,
  replacePolicyBody,
  rollbackPolicyBody,
  tenantIdParams,
  tenantParams,
  upsertPrincipalBody,
} from "../request-schemas.js";
import {
  auditCheckpoint,
  auditVerification,
  complianceReport,
  decision,
  exemptionRecord,
  pages,
  policyResponse,
  principalRecord,
  receiptRecord,
} from "../response-schemas.js";
import { listBody, pageRequest, segment, type ApiContext } from "./api-context.js";
import { answerAuditEvents, auditEventsRoute } from "./audit-events.js";

const IF_MATCH = {
  name: "if-match",
  description: 'The version being replaced, e.g. `"3"` (`"0"` when the tenant has no policy yet).',
};
const ETAG = { name: "etag", description: 'The policy version, e.g. `"4"`.' };

/** Reads `If-Match: "<version>"` (quoted or bare); absent gives `undefined`. */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(",") : header;
  const match = /^[ \t]*(?:"(\d{1,15})"|(\d{1,15}))[ \t]*$/.exec(value);
  const version = match?.[1] ?? match?.[2];
  if (version === undefined) {
    throw new InvalidRequest([
      { pointer: "#/headers/if-match", detail: 'expected the version being replaced, e.g. "3"' },
    ]);
  }
  return Number(version);
}

type PolicyResult = { record: PolicyVersionRecord; overrides: readonly Override[] };

function policyBody(reply: FastifyReply, result: PolicyResult) {
  reply.header("etag", `"${result.record.version}"`);
  return { ...result.record, warnings: result.overrides };
}

/** Writes a new policy version under the request's `If-Match`; answers it with its ETag. */
async function writePolicy(
  request: FastifyRequest,
  reply: FastifyReply,
  write: (ifMatch: number | undefined) => Promise<PolicyResult>,
) {
  return policyBody(reply, await write(parseIfMatch(request.headers["if-match"])));
}

/** A tenant's administration, decisions and audit. */
export function registerTenantRoutes(server: FastifyInstance, context: ApiContext): void {
  const { app, authenticate, metrics, now } = context;

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/policy",
    tag: "policy",
    summary: "Read the tenant's current policy",
    params: tenantParams,
    success: {
      status: 200,
      description: "The current policy version and the parts mandates override.",
      schema: policyResponse,
      headers: [ETAG],
    },
    handler: async ({ params, caller, reply }) =>
      policyBody(reply, await app.policies.current(caller, params.tenant)),
  });

  addRoute(server, authenticate, {
    method: "PUT",
    url: "/v1/tenants/:tenant/policy",
    tag: "policy",
    summary: "Replace the tenant's policy (optimistic concurrency with If-Match)",
    params: tenantParams,
    body: replacePolicyBody,
    requestHeaders: [IF_MATCH],
    success: {
      status: 200,
      description: "The new version; `warnings` lists the parts mandates override.",
      schema: policyResponse,
      headers: [ETAG],
    },
    problems: [412, 422, 428],
    handler: ({ params, body, caller, request, reply }) =>
      writePolicy(request, reply, (ifMatch) =>
        app.policies.replace(caller, params.tenant, { ...body, ifMatch }),
      ),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/policy/history",
    tag: "policy",
    summary: "Every version of the tenant's policy, newest first, with its diff",
    params: tenantParams,
    query: positionPageQuery,
    success: { status: 200, description: "A page of versions.", schema: pages.policyHistory },
    handler: async ({ params, query, caller }) =>
      listBody(await app.policies.history(caller, params.tenant, pageRequest(query))),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/tenants/:tenant/policy/rollback",
    tag: "policy",
    summary: "Roll back to an earlier version (written as a new version)",
    params: tenantParams,
    body: rollbackPolicyBody,
    requestHeaders: [IF_MATCH],
    success: {
      status: 200,
      description: "The new version.",
      schema: policyResponse,
      headers: [ETAG],
    },
    problems: [412, 422, 428],
    handler: ({ params, body, caller, request, reply }) =>
      writePolicy(request, reply, (ifMatch) =>
        app.policies.rollback(caller, params.tenant, { ...body, ifMatch }),
      ),
  });

  addRoute(server, authenticate, {
    method: "PUT",
    url: "/v1/tenants/:tenant/principals/:principal",
    tag: "principals",
    summary: "Register or update a principal",
    params: principalParams,
    body: upsertPrincipalBody,
    success: { status: 200, description: "The principal.", schema: principalRecord },
    handler: ({ params, body, caller }) =>
      app.principals.upsert(caller, params.tenant, params.principal, body),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/principals/:principal",
    tag: "principals",
    summary: "Read a principal",
    params: principalParams,
    success: { status: 200, description: "The principal.", schema: principalRecord },
    handler: ({ params, caller }) => app.principals.get(caller, params.tenant, params.principal),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/principals",
    tag: "principals",
    summary: "List the tenant's principals",
    params: tenantParams,
    query: pageQuery,
    success: { status: 200, description: "A page of principals.", schema: pages.principals },
    handler: async ({ params, query, caller }) =>
      listBody(await app.principals.list(caller, params.tenant, pageRequest(query))),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/tenants/:tenant/exemptions",
    tag: "exemptions",
    summary: "Request an exemption (expiry mandatory and capped; shared logins refused)",
    params: tenantParams,
    body: exemptionRequestBody,
    success: {
      status: 201,
      description: "The exemption, in status `requested`.",
      schema: exemptionRecord,
      headers: [{ name: "location", description: "The exemption's URL." }],
    },
    problems: [422],
    handler: async ({ params, body, caller, reply }) => {
      const { expiresAt, startsAt, ...rest } = body;
      if (expiresAt === undefined) throw new AppError("exemption.expiry_required");
      const record = await app.exemptions.request(caller, params.tenant, {
        ...rest,
        expiresAt,
        startsAt: startsAt ?? now().toISOString(),
      });
      reply.header(
        "location",
        `/v1/tenants/${segment(params.tenant)}/exemptions/${segment(record.id)}`,
      );
      return record;
    },
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/exemptions",
    tag: "exemptions",
    summary: "List exemptions, filtered by principal, status, category or activity",
    params: tenantParams,
    query: exemptionListQuery,
    success: { status: 200, description: "A page of exemptions.", schema: pages.exemptions },
    handler: async ({ params, query, caller }) => {
      const { after: _after, limit: _limit, active, activeAt, ...rest } = query;
      const at = activeAt ?? (active === "true" ? now().toISOString() : undefined);
      const filter: ExemptionFilter = { ...rest, ...(at === undefined ? {} : { activeAt: at }) };
      return listBody(await app.exemptions.list(caller, params.tenant, filter, pageRequest(query)));
    },
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/exemptions/:id",
    tag: "exemptions",
    summary: "Read an exemption",
    params: tenantIdParams,
    success: { status: 200, description: "The exemption.", schema: exemptionRecord },
    handler: ({ params, caller }) => app.exemptions.get(caller, params.tenant, params.id),
  });

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/tenants/:tenant/exemptions/:id/approve",
    tag: "exemptions",
    summary:
      "Approve an exemption (never by its requester, nor once its requester's key is revoked)",
    params: tenantIdParams,
    success: { status: 200, description: "The approved exemption.", schema: exemptionRecord },
    problems: [409, 422],
    handler: ({ params, caller }) => app.exemptions.approve(caller, params.tenant, params.id),
  });

  for (const action of ["reject", "revoke"] as const) {
    addRoute(server, authenticate, {
      method: "POST",
      url: `/v1/tenants/:tenant/exemptions/:id/${action}`,
      tag: "exemptions",
      summary: action === "reject" ? "Reject an exemption request" : "Revoke an exemption",
      params: tenantIdParams,
      body: reasonBody,
      success: { status: 200, description: "The exemption.", schema: exemptionRecord },
      problems: [409],
      handler: ({ params, body, caller }) =>
        app.exemptions[action](caller, params.tenant, params.id, body),
    });
  }

  addRoute(server, authenticate, {
    method: "POST",
    url: "/v1/tenants/:tenant/decisions",
    tag: "decisions",
    summary: "Decide a sign-in and store the receipt (platform service)",
    params: tenantParams,
    body: decisionRequestBody,
    success: {
      status: 201,
      description: "The decision; its id is the receipt's.",
      schema: decision,
      headers: [{ name: "location", description: "The receipt's URL." }],
    },
    problems: [422],
    handler: async ({ params, body, caller, request, reply }) => {
      let result;
      try {
        result = await app.decisions.decide(caller, params.tenant, body);
      } catch (error) {
        if (error instanceof AppError) throw error;
        // Fail closed: whatever broke below the use case, no decision is given.
        request.log.error({ err: error }, "decision failed");
        throw new AppError("store.unavailable");
      }
      metrics.decisions.inc({ outcome: result.outcome, mode: result.mode });
      if (result.id !== null) reply.header("location", `/v1/decisions/${segment(result.id)}`);
      return result;
    },
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/decisions/:id",
    tag: "decisions",
    summary: "Read a decision receipt",
    params: idParams,
    success: { status: 200, description: "The receipt.", schema: receiptRecord },
    handler: ({ params, caller }) => app.decisions.receipt(caller, params.id),
  });

  addRoute(server, authenticate, {
    ...auditEventsRoute,
    url: "/v1/tenants/:tenant/audit",
    summary: "Read the tenant's audit chain (JSON pages, or JSON Lines export)",
    params: tenantParams,
    handler: (route) => answerAuditEvents(app, route.params.tenant, route),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/tenants/:tenant/reports/compliance",
    tag: "audit",
    summary:
      "The tenant's compliance report: policy and mandates, MFA enrolment, exemptions due for review, decisions of a period",
    params: tenantParams,
    query: complianceReportQuery,
    success: { status: 200, description: "The report.", schema: complianceReport },
    handler: ({ params, query, caller }) => app.reports.compliance(caller, params.tenant, query),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/audit/verify",
    tag: "audit",
    summary: "Verify the audit chains: one tenant's, or (platform admins) every chain",
    query: auditVerifyQuery,
    success: {
      status: 200,
      description:
        "Whether the chains verify, the first broken link if any, and each damaged row read on the way.",
      schema: auditVerification,
    },
    handler: ({ query, caller }) => app.audit.verify(caller, query),
  });

  addRoute(server, authenticate, {
    method: "GET",
    url: "/v1/audit/checkpoint",
    tag: "audit",
    summary:
      "A signed checkpoint of one tenant's chain, or (platform admins) of the platform chain, to verify against later",
    query: auditCheckpointQuery,
    success: {
      status: 200,
      description: "The chain's head now, signed with the service's signing key.",
      schema: auditCheckpoint,
    },
    handler: ({ query, caller }) => app.audit.checkpoint(caller, query),
  });
}
