import type { FastifyBaseLogger } from "fastify";
import { z } from "zod";
import { AppError, ERROR_CODES } from "../app/errors.js";
import {
  ERROR_STATUSES,
  HTTP_PROBLEMS,
  type HttpProblemCode,
  type ProblemCode,
} from "./error-statuses.js";

/** One invalid part of a request: a JSON pointer into the body (or `#/query/…`, `#/params/…`). */
export interface InvalidPart {
  readonly pointer: string;
  readonly detail: string;
}

/** An RFC 9457 problem document with tenant-mfa's stable `code` extension. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly instance?: string;
  readonly errors?: readonly InvalidPart[];
  readonly details?: Readonly<Record<string, unknown>>;
  /** Seconds to wait before retrying (RFC 9110 §10.2.3), as the `Retry-After` header says too. */
  readonly retryAfter?: number;
}

/** The media type of a problem document (RFC 9457 §3). */
export const PROBLEM_MEDIA_TYPE = "application/problem+json";

/** The `type` URI of a problem code: stable, one per code. */
export const problemType = (code: ProblemCode): string => `urn:tenant-mfa:problem:${code}`;

/** How long a client is told to wait when the store cannot be reached, in seconds. */
const STORE_RETRY_AFTER_SECONDS = 5;

/** A failure that only the HTTP layer can report (the request never reached a use case). */
export class HttpProblem extends Error {
  readonly code: HttpProblemCode;
  readonly headers: Readonly<Record<string, string>>;
  constructor(code: HttpProblemCode, detail?: string, headers: Record<string, string> = {}) {
    super(detail ?? HTTP_PROBLEMS[code].title);
    this.name = "HttpProblem";
    this.code = code;
    this.headers = headers;
  }
}

/** A request part failed its schema: a `request.invalid` problem listing every invalid part. */
export class InvalidRequest extends AppError {
  readonly errors: readonly InvalidPart[];
  constructor(errors: readonly InvalidPart[], detail?: string) {
    super("request.invalid", detail ?? describe(errors));
    this.errors = errors;
  }
}

function describe(errors: readonly InvalidPart[]): string {
  const first = errors[0];
  if (first === undefined) return ERROR_CODES["request.invalid"];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  return `${first.pointer}: ${first.detail}${more}`;
}

/** Turns a zod error on one part of a request into the parts it names. */
export function invalidParts(error: z.ZodError, part: "body" | "query" | "params" | "headers") {
  const parts: InvalidPart[] = [];
  const base = part === "body" ? "#" : `#/${part}`;
  for (const issue of error.issues) {
    const path = issue.path.map((segment) => escapePointer(String(segment)));
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        parts.push({
          pointer: [base, ...path, escapePointer(key)].join("/"),
          detail: "unknown field",
        });
    } else {
      parts.push({ pointer: [base, ...path].join("/"), detail: issue.message });
    }
  }
  return parts;
}

/** A segment of a JSON pointer (RFC 6901 §4): `~` and `/` escaped. */
export const escapePointer = (segment: string) =>
  segment.replaceAll("~", "~0").replaceAll("/", "~1");

/** A problem's status and document, plus response headers, for any thrown value. */
export interface RenderedProblem {
  readonly problem: Problem;
  readonly headers: Readonly<Record<string, string>>;
  /** The error is unexpected (a bug or an outage): log it in full. */
  readonly unexpected: boolean;
}

interface FastifyLikeError {
  readonly code?: unknown;
  readonly statusCode?: unknown;
}

/** Fastify's own request errors whose fixed messages are safe to show. */
const FASTIFY_CODES: Readonly<Record<string, { code: ProblemCode; detail?: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "request.too_large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: "request.unsupported_media_type" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: "request.invalid",
    detail: "The body's size does not match its Content-Length.",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: "request.invalid",
    detail: "The body is empty but the content type says JSON.",
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "request.invalid", detail: "The body is not valid JSON." },
  FST_ERR_BAD_URL: { code: "request.invalid", detail: "The URL's percent-encoding is malformed." },
};

/** Maps anything thrown while serving a request to a problem document; never leaks internals. */
export function renderProblem(error: unknown, instance: string | undefined): RenderedProblem {
  const make = (
    code: ProblemCode,
    detail: string | undefined,
    extra: Partial<Pick<Problem, "errors" | "details" | "retryAfter">> = {},
    headers: Readonly<Record<string, string>> = {},
    unexpected = false,
  ): RenderedProblem => {
    const known = code in ERROR_STATUSES;
    const status = known
      ? ERROR_STATUSES[code as keyof typeof ERROR_STATUSES]
      : HTTP_PROBLEMS[code as HttpProblemCode].status;
    const title = known
      ? ERROR_CODES[code as keyof typeof ERROR_CODES]
      : HTTP_PROBLEMS[code as HttpProblemCode].title;
    const problem: Problem = {
      type: problemType(code),
      title,
      status,
      detail: detail ?? title,
      code,
      ...(instance === undefined ? {} : { instance }),
      ...extra,
    };
    return { problem, headers: { ...challengeHeaders(code), ...headers }, unexpected };
  };

  if (error instanceof InvalidRequest)
    return make("request.invalid", error.message, { errors: error.errors });
  if (error instanceof AppError) {
    // Details explain a refusal to its client; those of an outage are internals, logged only.
    // Those of tampering name the record that was altered, for the client to look at.
    const outage = ERROR_STATUSES[error.code] >= 500 && TAMPERING[error.code] === undefined;
    const extra = error.details === undefined || outage ? {} : { details: error.details };
    const headers: Record<string, string> = {};
    const retryAfter =
      error.code === "store.unavailable" ? STORE_RETRY_AFTER_SECONDS : error.details?.retryAfter;
    if (typeof retryAfter === "number" && Number.isSafeInteger(retryAfter) && retryAfter > 0) {
      headers["retry-after"] = String(retryAfter);
      return make(error.code, error.message, { ...extra, retryAfter }, headers);
    }
    return make(error.code, error.message, extra, headers);
  }
  if (error instanceof HttpProblem) {
    // A wait the header states is stated in the body too (`retryAfter`), as for refusals above.
    const wait = Number(error.headers["retry-after"]);
    const extra = Number.isSafeInteger(wait) && wait > 0 ? { retryAfter: wait } : {};
    return make(error.code, error.message, extra, error.headers);
  }
  if (error instanceof z.ZodError) {
    const errors = invalidParts(error, "body");
    return make("request.invalid", new InvalidRequest(errors).message, { errors });
  }
  const { code, statusCode } = (
    typeof error === "object" && error !== null ? error : {}
  ) as FastifyLikeError;
  const fastify = typeof code === "string" ? FASTIFY_CODES[code] : undefined;
  if (fastify !== undefined) return make(fastify.code, fastify.detail);
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
    if (statusCode === 413) return make("request.too_large", undefined);
    if (statusCode === 415) return make("request.unsupported_media_type", undefined);
    return make("request.invalid", undefined);
  }
  return make("internal", undefined, {}, {}, true);
}

/** The problems that say the store was changed behind the service, with what to log of each. */
const TAMPERING: Readonly<Partial<Record<ProblemCode, string>>> = {
  "receipt.tampered": "a stored decision receipt contradicts its audit event",
  "audit.chain_damaged": "a stored audit event cannot be read: its chain was altered",
  "store.record_damaged": "a stored row cannot be read: it was altered outside the service",
};

/**
 * What to log of `code` when it says the store was changed behind the service (a record altered
 * outside it: `store.record_damaged`, `receipt.tampered`, `audit.chain_damaged`); undefined for
 * any other code.
 */
export function tamperingOf(code: string): string | undefined {
  return Object.hasOwn(TAMPERING, code) ? TAMPERING[code as ProblemCode] : undefined;
}

/**
 * What a caller who is not authenticated (anyone on the network: the JWK Set's readers, a browser
 * at a sign-in endpoint or a hosted flow) is told of `problem`: a record altered behind the
 * service is named in the operator's log only (`logProblem`), never to them, who can do nothing
 * with it and may be whoever altered it. `detail` becomes the code's title and `details` goes.
 */
export function forAnonymousCaller(problem: Problem): Problem {
  if (tamperingOf(problem.code) === undefined) return problem;
  const { details: _named, ...rest } = problem;
  return { ...rest, detail: problem.title };
}

/**
 * Logs a problem answered (or, once an answer is under way, one that cut it short) at the level
 * it deserves: a bug in full, tampering with the store and outages as such, a refusal as info.
 */
export function logProblem(
  log: Pick<FastifyBaseLogger, "error" | "warn" | "info">,
  error: unknown,
  { problem, unexpected }: RenderedProblem,
): void {
  const tampering = TAMPERING[problem.code];
  if (unexpected) log.error({ err: error }, "unexpected error");
  // Not the service failing but its store changed behind it: what an operator must be woken for,
  // with the record it names (as the hosted flow pages log it), so that the log says which row
  // to restore. The problem document the caller got holds the same, and no secret.
  else if (tampering !== undefined) {
    log.error({ code: problem.code, detail: problem.detail, details: problem.details }, tampering);
  } else if (problem.status >= 500) log.warn({ err: error, code: problem.code }, problem.title);
  else log.info({ code: problem.code, status: problem.status }, "request refused");
}

/** RFC 6750 §3: a 401 tells the client which scheme to use. */
function challengeHeaders(code: ProblemCode): Record<string, string> {
  if (code === "auth.missing_credentials")
    return { "www-authenticate": 'Bearer realm="tenant-mfa"' };
  if (code === "auth.invalid_credentials")
    return { "www-authenticate": 'Bearer realm="tenant-mfa", error="invalid_token"' };
  return {};
}
