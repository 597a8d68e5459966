/**
 * The platform's side of tenant-mfa's flow API, as the demo platform uses it: start a flow,
 * exchange its code, verify the assurance token. A stand-in for `src/sdk` until that lands,
 * with the same names and shapes (`startStepUp`, `exchangeCode`, `verifyAssuranceToken`), so that
 * swapping it for the SDK is a change of import.
 *
 * @module
 */
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { AssuranceClaims } from "../core/assurance-claims.js";
import type { RequirementSpec } from "../core/policy.js";

/** Where tenant-mfa's API is, and the platform's API key (role `platform_service`). */
export interface TenantMfaClient {
  readonly baseUrl: string;
  readonly apiKey: string;
}

/** tenant-mfa answered with a problem (RFC 9457), or could not be reached. */
export class TenantMfaApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "TenantMfaApiError";
  }
}

/** A first factor the platform checked itself before sending the user to tenant-mfa. */
export interface PlatformPasswordEvent {
  readonly method: "password";
  readonly source: "platform";
  readonly at: string;
}

/** What the platform asks a flow for. */
export interface StepUpRequest {
  readonly tenant: string;
  readonly principal: string;
  readonly returnTo: string;
  readonly state?: string;
  readonly stepUp?: RequirementSpec;
  readonly verified?: readonly PlatformPasswordEvent[];
}

/** A flow created: where to send the browser. */
export interface StartedFlow {
  readonly flow: string;
  readonly url: string;
  readonly expiresAt: string;
}

/** A code exchanged: the signed assurance token and what it is about. */
export interface ExchangedCode {
  readonly token: string;
  readonly tokenType: string;
  readonly expiresIn: number;
  readonly tenant: string;
  readonly principal: string;
  readonly decision: string;
}

const TIMEOUT_MS = 10_000;

async function call(client: TenantMfaClient, path: string, body: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(new URL(path, client.baseUrl), {
      method: "POST",
      headers: {
        authorization: `Bearer ${client.apiKey}`,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: JSON.stringify(body),
      redirect: "error",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new TenantMfaApiError(
      0,
      "unreachable",
      `tenant-mfa did not answer at ${client.baseUrl}: ${(error as Error).message}`,
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem = (parsed ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
    const code = typeof problem.code === "string" ? problem.code : `http_${response.status}`;
    const detail = [problem.title, problem.detail].filter((x) => typeof x === "string").join(": ");
    throw new TenantMfaApiError(response.status, code, detail === "" ? code : detail);
  }
  if (typeof parsed !== "object" || parsed === null) {
    throw new TenantMfaApiError(response.status, "bad_response", "tenant-mfa answered no JSON");
  }
  return parsed;
}

function text(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TenantMfaApiError(200, "bad_response", `tenant-mfa's answer lacks ${name}`);
  }
  return value;
}

/** `POST /v1/tenants/:tenant/flows`: where to send the browser for this sign-in or step-up. */
export async function startStepUp(
  client: TenantMfaClient,
  request: StepUpRequest,
): Promise<StartedFlow> {
  const answer = (await call(client, `/v1/tenants/${encodeURIComponent(request.tenant)}/flows`, {
    principal: { id: request.principal },
    ...(request.verified === undefined ? {} : { verified: request.verified }),
    return_to: request.returnTo,
    ...(request.state === undefined ? {} : { state: request.state }),
    ...(request.stepUp === undefined ? {} : { step_up: request.stepUp }),
  })) as Record<string, unknown>;
  return {
    flow: text(answer.flow, "flow"),
    url: text(answer.url, "url"),
    expiresAt: text(answer.expires_at, "expires_at"),
  };
}

/** `POST /v1/flows/exchange`: the one-time code for the signed assurance token. */
export async function exchangeCode(client: TenantMfaClient, code: string): Promise<ExchangedCode> {
  const answer = (await call(client, "/v1/flows/exchange", { code })) as Record<string, unknown>;
  return {
    token: text(answer.token, "token"),
    tokenType: text(answer.token_type, "token_type"),
    expiresIn: typeof answer.expires_in === "number" ? answer.expires_in : 0,
    tenant: text(answer.tenant, "tenant"),
    principal: text(answer.principal, "principal"),
    decision: text(answer.decision, "decision"),
  };
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/**
 * Verifies an assurance token with the keys at `jwksUrl`: signature (ES256 or EdDSA, never the
 * header's choice), `typ`, issuer, audience, expiry, the claims the platform reads, and the
 * tenant when given. Throws jose's error, or an Error naming the missing claim or wrong tenant.
 */
export async function verifyAssuranceToken(
  token: string,
  options: { jwksUrl: string; issuer: string; audience: string; tenant?: string },
): Promise<AssuranceClaims> {
  let keys = keySets.get(options.jwksUrl);
  if (keys === undefined) {
    keys = createRemoteJWKSet(new URL(options.jwksUrl));
    keySets.set(options.jwksUrl, keys);
  }
  const { payload } = await jwtVerify(token, keys, {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: ["ES256", "EdDSA"],
    typ: "tenant-mfa-assurance+jwt",
    requiredClaims: ["sub", "tenant", "aal", "amr", "auth_time", "decision", "exp", "iat"],
  });
  if (options.tenant !== undefined && payload.tenant !== options.tenant) {
    throw new Error(`the token is for tenant ${String(payload.tenant)}, not ${options.tenant}`);
  }
  return payload as unknown as AssuranceClaims;
}
