import { isLoopbackHost } from "./is-loopback-host.js";
import { readBodyUpTo } from "./read-body-up-to.js";

/** The `fetch` the client calls; the global one by default. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** How the platform's backend reaches tenant-mfa's API. */
export interface TenantMfaClient {
  /**
   * The API's base URL, e.g. `https://mfa.internal.example`: https, or plain http on loopback
   * (`localhost`, 127.0.0.0/8, `::1`) only, unless {@link allowInsecureHttp}.
   */
  readonly baseUrl: string;
  /** An API key with the `platform_service` role for the tenants concerned. Never logged. */
  readonly apiKey: string;
  readonly fetch?: FetchLike;
  /** How long a call may take, in milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
  /**
   * Send the API key over plain http beyond loopback. Off by default: every call carries the key
   * in its `Authorization` header, and anyone on the path who reads it can create flows and
   * exchange codes as the platform. Set it (to `true`, nothing else) only where the network
   * itself is encrypted end to end (a service mesh with mutual TLS, say).
   */
  readonly allowInsecureHttp?: boolean;
}

/**
 * A call to tenant-mfa's API that failed. `code` is the server's stable problem code (RFC 9457
 * `code` extension) when it answered with a problem; otherwise `api.unreachable` (no answer,
 * or a timeout), `api.unexpected_response` (an answer that is not what the API promises, a body
 * larger than 1 MiB among them, never read to its end),
 * `api.invalid_code` (an empty code, never sent), `api.invalid_tenant` (an empty tenant, or
 * `.` or `..`, never sent) or `api.insecure_base_url` (a plain http `baseUrl` beyond loopback
 * without `allowInsecureHttp`: nothing is sent).
 */
export class TenantMfaApiError extends Error {
  readonly code: string;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The problem document, when the server sent one. */
  readonly problem: Readonly<Record<string, unknown>> | undefined;
  constructor(
    code: string,
    message: string,
    details: { status?: number; problem?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "TenantMfaApiError";
    this.code = code;
    this.status = details.status;
    this.problem = details.problem;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The largest answer read: the API's answers (a flow created, a code exchanged, a problem) are a
 * few kilobytes. A base URL answering without end (misrouted, a proxy's page, a compromised
 * host) would otherwise fill the platform's memory for as long as the timeout lasts.
 */
const RESPONSE_MAX_BYTES = 1024 * 1024;

/** POSTs JSON to the API and returns the body of an answer with `expectedStatus`. */
export async function postJson(
  client: TenantMfaClient,
  path: string,
  body: unknown,
  expectedStatus: number,
): Promise<Record<string, unknown>> {
  const url = new URL(path, client.baseUrl.endsWith("/") ? client.baseUrl : `${client.baseUrl}/`);
  if (
    url.protocol === "http:" &&
    !isLoopbackHost(url.hostname) &&
    client.allowInsecureHttp !== true
  )
    throw new TenantMfaApiError(
      "api.insecure_base_url",
      `tenant-mfa's baseUrl is plain http to ${url.host}, which would send the API key in clear: use https (plain http is allowed on loopback only), or set allowInsecureHttp: true where the network is encrypted end to end.`,
    );
  const fetchImpl: FetchLike = client.fetch ?? ((input, init) => fetch(input, init));
  let response: Response;
  try {
    response = await fetchImpl(url.href, {
      method: "POST",
      headers: {
        authorization: `Bearer ${client.apiKey}`,
        "content-type": "application/json",
        accept: "application/json, application/problem+json",
      },
      body: JSON.stringify(body),
      redirect: "error",
      signal: AbortSignal.timeout(client.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    throw new TenantMfaApiError(
      "api.unreachable",
      `tenant-mfa did not answer POST ${url.pathname}.`,
      {
        cause: error,
      },
    );
  }
  let answer: Uint8Array<ArrayBuffer> | undefined;
  let json: unknown;
  try {
    answer = await readBodyUpTo(response, RESPONSE_MAX_BYTES);
    if (answer !== undefined) json = JSON.parse(new TextDecoder().decode(answer));
  } catch (error) {
    throw new TenantMfaApiError(
      "api.unexpected_response",
      `tenant-mfa answered POST ${url.pathname} with ${String(response.status)} and no JSON body.`,
      { status: response.status, cause: error },
    );
  }
  if (answer === undefined)
    throw new TenantMfaApiError(
      "api.unexpected_response",
      `tenant-mfa answered POST ${url.pathname} with ${String(response.status)} and a body larger than 1 MiB, left unread.`,
      { status: response.status },
    );
  const document =
    typeof json === "object" && json !== null && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined;
  if (response.status === expectedStatus && document !== undefined) return document;
  if (document !== undefined && typeof document.code === "string") {
    const detail = typeof document.detail === "string" ? document.detail : document.code;
    throw new TenantMfaApiError(document.code, detail, {
      status: response.status,
      problem: document,
    });
  }
  throw new TenantMfaApiError(
    "api.unexpected_response",
    `tenant-mfa answered POST ${url.pathname} with ${String(response.status)}, expected ${String(expectedStatus)}.`,
    { status: response.status },
  );
}

/** The answer's field `name` as a string, or an `api.unexpected_response`. */
export function stringField(document: Record<string, unknown>, name: string): string {
  const value = document[name];
  if (typeof value !== "string" || value.length === 0)
    throw new TenantMfaApiError(
      "api.unexpected_response",
      `tenant-mfa's answer lacks \`${name}\`.`,
    );
  return value;
}
