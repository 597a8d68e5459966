// Threat: a credential reaches beyond its role or its tenant through the HTTP API (DESIGN
// invariant 5). Every /v1 route is called by every role, in its own tenant (acme) and in another
// (globex), and without credentials, through the real server, application and SQLite store; the
// exact status is checked. The allowed roles are written out here, independently of the
// permission table they test (src/app/access/permissions.ts), as in the use-case matrix
// (src/app/access/authorization-matrix.test.ts).
import { provedMfaJustNow } from "../app/test-support/fresh-mfa.js";
import { openingOf } from "../app/test-support/flow-opening.js";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, type Role } from "../app/records.js";
import { oathtoolCode } from "../verifiers/totp/test-support/oathtool.js";
import { SoftAuthenticator } from "../verifiers/webauthn/test-support/soft-authenticator.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

type Method = "GET" | "POST" | "PUT" | "DELETE";
type Tenant = "acme" | "globex";

/** One request to send: everything but the credential. */
interface Prepared {
  readonly url: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** One row of the matrix: a route, who may call it, what success answers, and a valid request. */
interface RouteCase {
  readonly method: Method;
  /** The route's path template, as registered. */
  readonly path: string;
  /** How the row names itself in test names, when the template alone is ambiguous. */
  readonly title?: string;
  readonly allowed: readonly Role[];
  readonly success: 200 | 201 | 204;
  /** The role is checked before the resource (and so its tenant) is known. */
  readonly roleCheckedFirst?: boolean;
  /**
   * What an allowed role of the home tenant gets for the foreign tenant's resource, when that is
   * not the usual 404 (a flow's code answers every client that did not create it alike).
   */
  readonly foreignRefusal?: { readonly status: 400; readonly code: string };
  /**
   * Builds one valid request against `tenant`'s resources; a route that changes state gets fresh
   * resources on every call, so that each case stands alone and business rules never refuse it.
   */
  readonly prepare: (tenant: Tenant) => Prepared | Promise<Prepared>;
}

const ALL: Role[] = [
  "platform_admin",
  "tenant_admin",
  "exemption_approver",
  "tenant_auditor",
  "platform_service",
];
const READERS: Role[] = ["platform_admin", "tenant_admin", "exemption_approver", "tenant_auditor"];
const ADMINS: Role[] = ["platform_admin", "tenant_admin"];
const DECIDERS: Role[] = ["platform_admin", "exemption_approver"];
const REVOKERS: Role[] = ["platform_admin", "tenant_admin", "exemption_approver"];
const AUDIT_READERS: Role[] = ["platform_admin", "tenant_admin", "tenant_auditor"];
const RECEIPT_READERS: Role[] = ["platform_admin", "tenant_admin", "tenant_auditor"];
const PLATFORM_ADMIN: Role[] = ["platform_admin"];
const SERVICE: Role[] = ["platform_service"];
const AUTHENTICATOR_MANAGERS: Role[] = ["platform_admin", "tenant_admin", "platform_service"];

let t: TestServer;
/** One API key per role: platform_admin reaches every tenant, every other role only acme. */
const keys = new Map<Role, string>();
/** Resources made in `beforeAll`, per tenant. */
const fixtures = {
  exemption: { acme: "", globex: "" },
  receipt: { acme: "", globex: "" },
  idp: { acme: "", globex: "" },
};
/** Each tenant's platform service key, which enrols authenticators there. */
const services = { acme: "", globex: "" };
let serial = 0;
/** A fresh suffix for ids of resources a case creates. */
const unique = () => String(++serial);

const RETURN_URL = "https://platform.example/signed-in";

/**
 * The one-time code of a flow created by `tenant`'s service key for a new principal, who enrols
 * TOTP in the flow on the strength of the platform's password check.
 */
async function flowCode(tenant: Tenant): Promise<string> {
  const created = await t.call("POST", `/v1/tenants/${tenant}/flows`, {
    key: services[tenant],
    body: {
      principal: { id: `flow-user-${unique()}`, population: "direct" },
      verified: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
      return_to: RETURN_URL,
    },
  });
  const started = must(created, 201).json<{ flow: string; url: string }>();
  const { flow } = started;
  const browser = { cookie: `browser-${unique()}-0123456789abcdef` };
  const challenge = await t.app.flows.show(tenant, flow, browser, { opening: openingOf(started) });
  if (challenge.kind !== "challenge") throw new Error(`flow setup: ${challenge.kind}`);
  const csrf = challenge.frame.csrfToken;
  const enrolment = await t.app.flows.act(tenant, flow, browser, { kind: "enroll_totp", csrf });
  if (enrolment.kind !== "enroll_totp") throw new Error(`flow setup: ${enrolment.kind}`);
  await t.app.flows.act(tenant, flow, browser, {
    kind: "confirm_totp",
    csrf,
    authenticator: enrolment.authenticator,
    code: oathtoolCode(enrolment.secret, t.clock.now()),
  });
  const done = await t.app.flows.show(tenant, flow, browser);
  if (done.kind !== "redirect") throw new Error(`flow setup: ${done.kind}`);
  return new URL(done.location).searchParams.get("code") ?? "";
}

const later = (days: number) => new Date(t.clock.now().getTime() + days * 86_400_000).toISOString();

/** Fails the setup loudly when a call that must succeed does not. */
function must(response: LightMyRequestResponse, status: number): LightMyRequestResponse {
  if (response.statusCode !== status) {
    throw new Error(`setup call answered ${response.statusCode}: ${response.body}`);
  }
  return response;
}

const exemptionBody = () => ({
  principal: "alice",
  category: "temporary_access",
  justification: "Authenticator replacement on the way",
  owner: "it-ops",
  startsAt: later(0),
  expiresAt: later(2),
  reviewAt: later(1),
});

const mandateInput = {
  title: "Matrix test mandate",
  scope: { tenants: "all" },
  require: {},
  exemptible: true,
};

/** Requests an exemption in `tenant` as the bootstrap administrator; returns its id. */
async function freshExemption(tenant: Tenant): Promise<string> {
  const response = await t.call("POST", `/v1/tenants/${tenant}/exemptions`, {
    key: t.adminKey,
    body: exemptionBody(),
  });
  return must(response, 201).json<{ id: string }>().id;
}

/** The tenant's current policy version, for `If-Match`. */
async function policyVersion(tenant: Tenant): Promise<string> {
  const response = await t.call("GET", `/v1/tenants/${tenant}/policy`, { key: t.adminKey });
  return String(must(response, 200).json<{ version: number }>().version);
}

async function mandateVersion(id: string): Promise<string> {
  const response = await t.call("GET", `/v1/platform/mandates/${id}`, { key: t.adminKey });
  return String(must(response, 200).json<{ version: number }>().version);
}

async function freshMandate(): Promise<string> {
  const id = `matrix-${unique()}`;
  must(
    await t.call("POST", "/v1/platform/mandates", {
      key: t.adminKey,
      body: { id, mandate: mandateInput, rationale: "A mandate to retire" },
    }),
    201,
  );
  return id;
}

async function freshKeyId(): Promise<string> {
  const response = await t.call("POST", "/v1/api-keys", {
    key: t.adminKey,
    body: { name: `spare ${unique()}`, roles: ["tenant_auditor"], tenants: ["acme"] },
  });
  return must(response, 201).json<{ key: { id: string } }>().key.id;
}

const oidcRegistration = () => ({
  protocol: "oidc",
  oidc: { issuer: "https://idp.example", clientId: "tenant-mfa", clientSecret: "s3cret" },
});

/** Registers an IdP in `tenant` as the bootstrap administrator; returns its id. */
async function freshIdp(tenant: Tenant): Promise<string> {
  const id = `idp-${unique()}`;
  must(
    await t.call("PUT", `/v1/tenants/${tenant}/idps/${id}`, {
      key: t.adminKey,
      body: oidcRegistration(),
    }),
    201,
  );
  return id;
}

const authenticators = (tenant: Tenant) => `/v1/tenants/${tenant}/principals/alice/authenticators`;

/**
 * Begins a TOTP enrolment for alice in `tenant` as that tenant's platform service, and confirms
 * it when asked; returns its id and secret.
 */
async function freshTotp(
  tenant: Tenant,
  confirmed: boolean,
): Promise<{ id: string; secret: string }> {
  await provedMfaJustNow(t, tenant, "alice");
  const begun = await t.call("POST", `${authenticators(tenant)}/totp`, {
    key: services[tenant],
    body: { name: `phone ${unique()}` },
  });
  const { authenticator, secret } = must(begun, 201).json<{
    authenticator: { id: string };
    secret: string;
  }>();
  if (confirmed) {
    must(
      await t.call("POST", `${authenticators(tenant)}/${authenticator.id}/confirm`, {
        key: services[tenant],
        body: { code: oathtoolCode(secret, t.clock.now()) },
      }),
      200,
    );
  }
  return { id: authenticator.id, secret };
}

const recoveryCodes = (tenant: Tenant) => `${authenticators(tenant)}/recovery-codes`;

/** Issues a new set of recovery codes for alice in `tenant`, as its platform service; returns them. */
async function freshRecoveryCodes(tenant: Tenant): Promise<string[]> {
  await provedMfaJustNow(t, tenant, "alice");
  const issued = await t.call("POST", recoveryCodes(tenant), { key: services[tenant] });
  return must(issued, 201).json<{ codes: string[] }>().codes;
}

/** Begins a WebAuthn ceremony for alice in `tenant` as that tenant's platform service. */
async function beginWebAuthn(
  tenant: Tenant,
  kind: "registrations" | "authentications",
): Promise<{ id: string; options: Record<string, unknown> }> {
  if (kind === "registrations") await provedMfaJustNow(t, tenant, "alice");
  const response = await t.call("POST", `${authenticators(tenant)}/webauthn/${kind}`, {
    key: services[tenant],
  });
  const begun = must(response, 201).json<{
    registration?: string;
    authentication?: string;
    options: Record<string, unknown>;
  }>();
  return { id: begun.registration ?? begun.authentication ?? "", options: begun.options };
}

/** Registers a fresh software passkey for alice in `tenant`; returns its authenticator. */
async function freshPasskey(tenant: Tenant): Promise<SoftAuthenticator> {
  const key = new SoftAuthenticator({ origin: "https://mfa.test" });
  const { id, options } = await beginWebAuthn(tenant, "registrations");
  must(
    await t.call("POST", `${authenticators(tenant)}/webauthn/registrations/${id}`, {
      key: services[tenant],
      body: { response: key.register(options) },
    }),
    201,
  );
  return key;
}

/** Routes that act in one tenant, named in the path (or, for receipts, by the receipt). */
const tenantRoutes: RouteCase[] = [
  {
    method: "PUT",
    path: "/v1/tenants/:tenant/branding",
    allowed: ADMINS,
    success: 200,
    prepare: (tenant) => ({
      url: `/v1/tenants/${tenant}/branding`,
      body: { logoUrl: `https://${tenant}.example/logo.svg` },
    }),
  },
  {
    method: "PUT",
    path: "/v1/tenants/:tenant/return-urls",
    allowed: ADMINS,
    success: 200,
    prepare: (tenant) => ({
      url: `/v1/tenants/${tenant}/return-urls`,
      body: { returnUrls: [`https://${tenant}.example/signed-in`, RETURN_URL] },
    }),
  },
  {
    method: "PUT",
    path: "/v1/tenants/:tenant/idps/:idp",
    allowed: ADMINS,
    success: 201,
    prepare: (tenant) => ({
      url: `/v1/tenants/${tenant}/idps/idp-${unique()}`,
      body: oidcRegistration(),
    }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/idps/:idp",
    allowed: AUDIT_READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/idps/${fixtures.idp[tenant]}` }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/idps",
    allowed: AUDIT_READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/idps` }),
  },
  {
    method: "DELETE",
    path: "/v1/tenants/:tenant/idps/:idp",
    allowed: ADMINS,
    success: 204,
    prepare: async (tenant) => ({ url: `/v1/tenants/${tenant}/idps/${await freshIdp(tenant)}` }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators",
    allowed: AUTHENTICATOR_MANAGERS,
    success: 200,
    prepare: (tenant) => ({ url: authenticators(tenant) }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/totp",
    allowed: SERVICE,
    success: 201,
    prepare: async (tenant) => {
      await provedMfaJustNow(t, tenant, "alice");
      return { url: `${authenticators(tenant)}/totp`, body: { name: "phone" } };
    },
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/:id/confirm",
    allowed: SERVICE,
    success: 200,
    prepare: async (tenant) => {
      const { id, secret } = await freshTotp(tenant, false);
      return {
        url: `${authenticators(tenant)}/${id}/confirm`,
        body: { code: oathtoolCode(secret, t.clock.now()) },
      };
    },
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/:id/verify",
    allowed: SERVICE,
    success: 200,
    prepare: async (tenant) => {
      const { id, secret } = await freshTotp(tenant, true);
      // The confirmation used the current step; the next one is within the window.
      const next = new Date(t.clock.now().getTime() + 30_000);
      return {
        url: `${authenticators(tenant)}/${id}/verify`,
        body: { code: oathtoolCode(secret, next) },
      };
    },
  },
  {
    method: "DELETE",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/:id",
    allowed: AUTHENTICATOR_MANAGERS,
    success: 204,
    prepare: async (tenant) => ({
      url: `${authenticators(tenant)}/${(await freshTotp(tenant, false)).id}`,
    }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/recovery-codes",
    allowed: SERVICE,
    success: 201,
    prepare: async (tenant) => {
      await provedMfaJustNow(t, tenant, "alice");
      return { url: recoveryCodes(tenant) };
    },
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/recovery-codes",
    allowed: AUTHENTICATOR_MANAGERS,
    success: 200,
    prepare: (tenant) => ({ url: recoveryCodes(tenant) }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/recovery-codes/verify",
    allowed: SERVICE,
    success: 200,
    prepare: async (tenant) => ({
      url: `${recoveryCodes(tenant)}/verify`,
      body: { code: (await freshRecoveryCodes(tenant))[0] },
    }),
  },
  {
    method: "DELETE",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/recovery-codes",
    allowed: AUTHENTICATOR_MANAGERS,
    success: 204,
    prepare: async (tenant) => {
      await freshRecoveryCodes(tenant);
      return { url: recoveryCodes(tenant) };
    },
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/unlock",
    allowed: ADMINS,
    success: 200,
    prepare: (tenant) => ({
      url: `${authenticators(tenant)}/unlock`,
      body: { reason: "Identity checked" },
    }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/webauthn",
    allowed: ADMINS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/webauthn` }),
  },
  {
    method: "PUT",
    path: "/v1/tenants/:tenant/webauthn",
    allowed: ADMINS,
    success: 200,
    prepare: (tenant) => ({
      url: `/v1/tenants/${tenant}/webauthn`,
      body: { rpId: "mfa.test", origins: ["https://mfa.test"] },
    }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/webauthn/registrations",
    allowed: SERVICE,
    success: 201,
    prepare: async (tenant) => {
      await provedMfaJustNow(t, tenant, "alice");
      return { url: `${authenticators(tenant)}/webauthn/registrations` };
    },
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/webauthn/registrations/:registration",
    allowed: SERVICE,
    success: 201,
    prepare: async (tenant) => {
      const { id, options } = await beginWebAuthn(tenant, "registrations");
      return {
        url: `${authenticators(tenant)}/webauthn/registrations/${id}`,
        body: { response: new SoftAuthenticator({ origin: "https://mfa.test" }).register(options) },
      };
    },
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/webauthn/authentications",
    allowed: SERVICE,
    success: 201,
    prepare: async (tenant) => {
      await freshPasskey(tenant);
      return { url: `${authenticators(tenant)}/webauthn/authentications` };
    },
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/principals/:principal/authenticators/webauthn/authentications/:authentication",
    allowed: SERVICE,
    success: 200,
    prepare: async (tenant) => {
      const key = await freshPasskey(tenant);
      const { id, options } = await beginWebAuthn(tenant, "authentications");
      return {
        url: `${authenticators(tenant)}/webauthn/authentications/${id}`,
        body: { response: key.authenticate(options) },
      };
    },
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant",
    allowed: READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}` }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/policy",
    allowed: READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/policy` }),
  },
  {
    method: "PUT",
    path: "/v1/tenants/:tenant/policy",
    allowed: ADMINS,
    success: 200,
    prepare: async (tenant) => ({
      url: `/v1/tenants/${tenant}/policy`,
      headers: { "if-match": `"${await policyVersion(tenant)}"` },
      body: {
        policy: { posture: "platform_mfa", require: { maxAgeSeconds: 43_200 } },
        rationale: "Twelve-hour MFA freshness",
      },
    }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/policy/history",
    allowed: READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/policy/history?limit=5` }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/policy/rollback",
    allowed: ADMINS,
    success: 200,
    prepare: async (tenant) => ({
      url: `/v1/tenants/${tenant}/policy/rollback`,
      headers: { "if-match": `"${await policyVersion(tenant)}"` },
      body: { toVersion: 1, rationale: "Back to the initial policy" },
    }),
  },
  {
    method: "PUT",
    path: "/v1/tenants/:tenant/principals/:principal",
    allowed: ADMINS,
    success: 200,
    prepare: (tenant) => ({
      url: `/v1/tenants/${tenant}/principals/user-${unique()}`,
      body: { population: "direct", displayName: "A new user" },
    }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/principals/:principal",
    allowed: READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/principals/alice` }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/principals",
    allowed: READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/principals?limit=10` }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/exemptions",
    allowed: ADMINS,
    success: 201,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/exemptions`, body: exemptionBody() }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/exemptions",
    allowed: READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/exemptions?status=requested` }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/exemptions/:id",
    allowed: READERS,
    success: 200,
    prepare: (tenant) => ({
      url: `/v1/tenants/${tenant}/exemptions/${fixtures.exemption[tenant]}`,
    }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/exemptions/:id/approve",
    allowed: DECIDERS,
    success: 200,
    prepare: async (tenant) => ({
      url: `/v1/tenants/${tenant}/exemptions/${await freshExemption(tenant)}/approve`,
    }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/exemptions/:id/reject",
    allowed: DECIDERS,
    success: 200,
    prepare: async (tenant) => ({
      url: `/v1/tenants/${tenant}/exemptions/${await freshExemption(tenant)}/reject`,
      body: { reason: "Not justified" },
    }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/exemptions/:id/revoke",
    allowed: REVOKERS,
    success: 200,
    prepare: async (tenant) => ({
      url: `/v1/tenants/${tenant}/exemptions/${await freshExemption(tenant)}/revoke`,
      body: { reason: "No longer needed" },
    }),
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/decisions",
    allowed: SERVICE,
    success: 201,
    prepare: (tenant) => ({
      url: `/v1/tenants/${tenant}/decisions`,
      body: {
        principal: { id: "alice" },
        evidence: { events: [{ method: "password", source: "platform", at: later(0) }] },
      },
    }),
  },
  {
    method: "GET",
    path: "/v1/decisions/:id",
    title: "/v1/decisions/:id (a receipt of the tenant)",
    allowed: RECEIPT_READERS,
    // The tenant is known only from the receipt: a role that may never read receipts is refused
    // before the lookup, so that it cannot probe which receipt ids exist, in any tenant.
    roleCheckedFirst: true,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/decisions/${fixtures.receipt[tenant]}` }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/audit",
    allowed: AUDIT_READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/audit?limit=20` }),
  },
  {
    method: "GET",
    path: "/v1/tenants/:tenant/reports/compliance",
    allowed: AUDIT_READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/tenants/${tenant}/reports/compliance` }),
  },
  {
    method: "GET",
    path: "/v1/audit/verify",
    title: "/v1/audit/verify?tenant=:tenant",
    allowed: AUDIT_READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/audit/verify?tenant=${tenant}` }),
  },
  {
    method: "GET",
    path: "/v1/audit/checkpoint",
    title: "/v1/audit/checkpoint?tenant=:tenant",
    allowed: AUDIT_READERS,
    success: 200,
    prepare: (tenant) => ({ url: `/v1/audit/checkpoint?tenant=${tenant}` }),
  },
];

/** The flow API: a flow made by the tenant's service key, and the code of one walked through. */
const flowRoutes: RouteCase[] = [
  {
    method: "POST",
    path: "/v1/tenants/:tenant/flows",
    allowed: SERVICE,
    success: 201,
    prepare: (tenant) => ({
      url: `/v1/tenants/${tenant}/flows`,
      body: { principal: { id: "alice" }, return_to: RETURN_URL },
    }),
  },
  {
    method: "POST",
    path: "/v1/flows/exchange",
    allowed: SERVICE,
    // The tenant is known only from the code: a role that may never exchange is refused first.
    roleCheckedFirst: true,
    // A service key holding another tenant's code is one more client that did not create its
    // flow: refused as such, and audited in the flow's tenant (docs/flows.md §3).
    foreignRefusal: { status: 400, code: "flow.code_invalid" },
    success: 200,
    prepare: async (tenant) => ({
      url: "/v1/flows/exchange",
      body: { code: await flowCode(tenant) },
    }),
  },
];

/** Routes that act on the platform as a whole. */
const platformRoutes: RouteCase[] = [
  {
    method: "POST",
    path: "/v1/platform/signing-keys/rotate",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: () => ({ url: "/v1/platform/signing-keys/rotate", body: {} }),
  },
  {
    method: "POST",
    path: "/v1/platform/mandates",
    allowed: PLATFORM_ADMIN,
    success: 201,
    prepare: () => ({
      url: "/v1/platform/mandates",
      body: { id: `new-${unique()}`, mandate: mandateInput, rationale: "A new mandate" },
    }),
  },
  {
    method: "GET",
    path: "/v1/platform/mandates",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: () => ({ url: "/v1/platform/mandates" }),
  },
  {
    method: "GET",
    path: "/v1/platform/mandates/:id",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: () => ({ url: "/v1/platform/mandates/base" }),
  },
  {
    method: "PUT",
    path: "/v1/platform/mandates/:id",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: async () => ({
      url: "/v1/platform/mandates/base",
      headers: { "if-match": `"${await mandateVersion("base")}"` },
      body: { mandate: mandateInput, rationale: "Same again, as a new version" },
    }),
  },
  {
    method: "POST",
    path: "/v1/platform/mandates/:id/retire",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: async () => ({
      url: `/v1/platform/mandates/${await freshMandate()}/retire`,
      headers: { "if-match": '"1"' },
      body: { rationale: "No longer needed" },
    }),
  },
  {
    method: "POST",
    path: "/v1/api-keys",
    allowed: PLATFORM_ADMIN,
    success: 201,
    prepare: () => ({
      url: "/v1/api-keys",
      body: { name: `auditor ${unique()}`, roles: ["tenant_auditor"], tenants: ["acme"] },
    }),
  },
  {
    method: "GET",
    path: "/v1/api-keys",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: () => ({ url: "/v1/api-keys" }),
  },
  {
    method: "DELETE",
    path: "/v1/api-keys/:id",
    allowed: PLATFORM_ADMIN,
    success: 204,
    prepare: async () => ({ url: `/v1/api-keys/${await freshKeyId()}` }),
  },
  {
    method: "POST",
    path: "/v1/tenants",
    allowed: PLATFORM_ADMIN,
    success: 201,
    prepare: () => ({
      url: "/v1/tenants",
      body: { id: `tenant-${unique()}`, name: "A new tenant" },
    }),
  },
  {
    // A tenant-scoped administrator lists the tenants it reaches; the service lists none.
    method: "GET",
    path: "/v1/tenants",
    allowed: READERS,
    success: 200,
    prepare: () => ({ url: "/v1/tenants?limit=50" }),
  },
  {
    // The platform chain names every tenant and every key: no tenant-scoped role reads it.
    method: "GET",
    path: "/v1/platform/audit",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: () => ({ url: "/v1/platform/audit?limit=20" }),
  },
  {
    method: "GET",
    path: "/v1/platform/audit",
    title: "/v1/platform/audit?format=jsonl",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: () => ({ url: "/v1/platform/audit?format=jsonl" }),
  },
  {
    method: "GET",
    path: "/v1/audit/verify",
    title: "/v1/audit/verify (every chain)",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: () => ({ url: "/v1/audit/verify" }),
  },
  {
    method: "GET",
    path: "/v1/audit/checkpoint",
    title: "/v1/audit/checkpoint (the platform chain)",
    allowed: PLATFORM_ADMIN,
    success: 200,
    prepare: () => ({ url: "/v1/audit/checkpoint" }),
  },
];

/** Sends a prepared request, as `role` or without credentials. */
async function send(
  route: RouteCase,
  tenant: Tenant,
  role: Role | undefined,
): Promise<LightMyRequestResponse> {
  const { url, body, headers } = await route.prepare(tenant);
  const key = role === undefined ? undefined : keys.get(role);
  if (role !== undefined && key === undefined) throw new Error(`no key for ${role}`);
  return t.call(route.method, url, {
    ...(key === undefined ? {} : { key }),
    ...(body === undefined ? {} : { body }),
    ...(headers === undefined ? {} : { headers }),
  });
}

/** Checks a success: the exact status, and not a problem document. */
function expectSuccess(response: LightMyRequestResponse, status: number): void {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"] ?? "").not.toMatch(/^application\/problem\+json/);
}

/** Checks a refusal: the exact status and code, as an RFC 9457 problem document. */
function expectProblem(response: LightMyRequestResponse, status: number, code: string): void {
  expect({ status: response.statusCode, body: response.body }).toMatchObject({ status });
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json(;|$)/);
  expect(response.json()).toMatchObject({ status, code });
}

type Expectation =
  | { readonly status: 200 | 201 | 204 }
  | { readonly status: 400 | 401 | 403 | 404; readonly code: string };

/** What `role` must get in its own tenant (or, for a platform route, at all). */
const own = (route: RouteCase, role: Role): Expectation =>
  route.allowed.includes(role)
    ? { status: route.success }
    : { status: 403, code: "auth.forbidden" };

/**
 * What `role` must get in globex: the same as at home for a platform-wide key, else 404 (or the
 * route's own refusal of another tenant's resource).
 */
const foreign = (route: RouteCase, role: Role): Expectation =>
  role === "platform_admin" || (route.roleCheckedFirst === true && !route.allowed.includes(role))
    ? own(route, role)
    : (route.foreignRefusal ?? { status: 404, code: "not_found" });

function check(response: LightMyRequestResponse, expected: Expectation): void {
  if ("code" in expected) expectProblem(response, expected.status, expected.code);
  else expectSuccess(response, expected.status);
}

const titleOf = (route: RouteCase) => `${route.method} ${route.title ?? route.path}`;

beforeAll(async () => {
  t = await openTestServer();
  for (const tenant of ["acme", "globex"] as const) {
    must(
      await t.call("POST", "/v1/tenants", {
        key: t.adminKey,
        body: { id: tenant, name: tenant, returnUrls: [RETURN_URL] },
      }),
      201,
    );
    must(
      await t.call("PUT", `/v1/tenants/${tenant}/principals/alice`, {
        key: t.adminKey,
        body: { population: "direct", displayName: "Alice" },
      }),
      200,
    );
    fixtures.exemption[tenant] = await freshExemption(tenant);
    fixtures.idp[tenant] = await freshIdp(tenant);
  }
  must(
    await t.call("POST", "/v1/platform/mandates", {
      key: t.adminKey,
      body: { id: "base", mandate: mandateInput, rationale: "Baseline" },
    }),
    201,
  );
  for (const role of ROLES) {
    keys.set(role, await t.key([role], role === "platform_admin" ? "all" : ["acme"]));
  }
  // A receipt in each tenant, decided by that tenant's own platform service key.
  services.acme = keys.get("platform_service")!;
  services.globex = await t.key(["platform_service"], ["globex"]);
  for (const tenant of ["acme", "globex"] as const) {
    const decided = await t.call("POST", `/v1/tenants/${tenant}/decisions`, {
      key: services[tenant],
      body: { principal: { id: "alice" }, evidence: { events: [] } },
    });
    fixtures.receipt[tenant] = must(decided, 201).json<{ id: string }>().id;
  }
});
afterAll(() => t.close());

describe("the matrix covers the API", () => {
  it("has a row for every /v1 route of the OpenAPI document, and no other", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const served = Object.entries(document.paths)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, operations]) =>
        Object.keys(operations).map(
          (method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`,
        ),
      );
    const tested = [...tenantRoutes, ...flowRoutes, ...platformRoutes].map(
      (r) => `${r.method} ${r.path}`,
    );
    expect([...new Set(tested)].sort()).toEqual([...new Set(served)].sort());
  });

  it("knows every role", () => {
    expect([...ROLES].sort()).toEqual([...ALL].sort());
  });
});

describe("tenant routes, every role, own tenant (acme)", () => {
  for (const route of [...tenantRoutes, ...flowRoutes]) {
    for (const role of ALL) {
      const expected = own(route, role);
      it(`${titleOf(route)} as ${role} in acme → ${expected.status}`, async () => {
        check(await send(route, "acme", role), expected);
      });
    }
  }
});

describe("tenant routes, every role, foreign tenant (globex)", () => {
  for (const route of [...tenantRoutes, ...flowRoutes]) {
    for (const role of ALL) {
      const expected = foreign(route, role);
      it(`${titleOf(route)} as ${role} in globex → ${expected.status}`, async () => {
        check(await send(route, "globex", role), expected);
      });
    }
  }
});

describe("platform routes, every role", () => {
  for (const route of platformRoutes) {
    for (const role of ALL) {
      const expected = own(route, role);
      it(`${titleOf(route)} as ${role} → ${expected.status}`, async () => {
        check(await send(route, "acme", role), expected);
      });
    }
  }
});

describe("every route without credentials", () => {
  for (const route of [...tenantRoutes, ...flowRoutes, ...platformRoutes]) {
    it(`${titleOf(route)} without credentials → 401`, async () => {
      check(await send(route, "acme", undefined), {
        status: 401,
        code: "auth.missing_credentials",
      });
    });
  }
});

describe("what an allowed call returns stays within the caller's tenant", () => {
  it("GET /v1/tenants as tenant_auditor in acme → 200 listing acme only", async () => {
    const response = await t.call("GET", "/v1/tenants", { key: keys.get("tenant_auditor")! });
    expectSuccess(response, 200);
    expect(response.json<{ items: { id: string }[] }>().items.map((x) => x.id)).toEqual(["acme"]);
  });

  it("GET /v1/decisions/:id of an unknown receipt as tenant_auditor in acme → 404", async () => {
    const response = await t.call("GET", "/v1/decisions/dec_unknown", {
      key: keys.get("tenant_auditor")!,
    });
    expectProblem(response, 404, "not_found");
    // A foreign receipt answers exactly like one that does not exist.
    const foreignReceipt = await t.call("GET", `/v1/decisions/${fixtures.receipt.globex}`, {
      key: keys.get("tenant_auditor")!,
    });
    expect(foreignReceipt.json()).toEqual({
      ...response.json<Record<string, unknown>>(),
      instance: expect.any(String),
    });
  });
});
