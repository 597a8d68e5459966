import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Caller } from "../app/application.js";
import { InvalidInput } from "../app/errors.js";
import {
  escapePointer,
  InvalidRequest,
  invalidParts,
  PROBLEM_MEDIA_TYPE,
  type InvalidPart,
} from "./problem.js";

/** A parsed value without `undefined` in optional fields: JSON never carries `undefined`. */
export type Defined<T> = T extends readonly (infer U)[]
  ? Defined<U>[]
  : T extends object
    ? { [K in keyof T]: Defined<Exclude<T[K], undefined>> }
    : T;

type Parsed<S> = S extends z.ZodType ? Defined<z.output<S>> : undefined;

/** What a handler receives: the checked request parts and the authenticated caller. */
export interface RouteContext<P, Q, B> {
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
  readonly caller: Caller;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

/** An HTTP header the route reads or writes, for the OpenAPI document. */
export interface HeaderDoc {
  readonly name: string;
  readonly description: string;
}

/** One route of the `/v1` API: schemas for checking and documenting, and its handler. */
export interface RouteDefinition<P, Q, B> {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly url: string;
  readonly summary: string;
  /** What the summary cannot say: rules, limits, refusals (OpenAPI `description`). */
  readonly description?: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly requestHeaders?: readonly HeaderDoc[];
  readonly success: {
    readonly status: number;
    readonly description: string;
    readonly schema?: z.ZodType;
    readonly headers?: readonly HeaderDoc[];
    /** Other success statuses with the same body (201 for a PUT that created). */
    readonly alsoStatuses?: readonly number[];
    /** Other media types the route can answer with (e.g. JSON Lines). */
    readonly alternatives?: readonly string[];
  };
  /** Problem statuses the route can answer with, besides those every `/v1` route can. */
  readonly problems?: readonly number[];
  /**
   * Returns the body to send (`undefined`: none), or sends the reply itself (a stream) and
   * returns it, as Fastify's async handlers do.
   */
  readonly handler: (context: RouteContext<P, Q, B>) => Promise<unknown>;
}

/** Converts a zod schema to the JSON Schema (2020-12) that OpenAPI 3.1 embeds. */
export function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
    cycles: "throw",
    override: ({ jsonSchema: generated }) => {
      // `format: date-time` says it all; zod's long equivalent pattern only bloats the document.
      if (generated.format === "date-time") delete generated.pattern;
    },
  }) as Record<string, unknown>;
  return rest;
}

/**
 * A response header as a route's response schema declares it: its JSON Schema, with the
 * description beside the type. @fastify/swagger wraps it into the OpenAPI Header Object
 * (`{ description, schema: { type } }`): wrapped here too, it would come out as `schema.schema`.
 */
export const responseHeader = (description: string) => ({ type: "string", description });

/**
 * Both limiters that answer 429 on `/v1` send it: the per-address limit on wrong API keys
 * (src/http/authenticate.ts) and the verification throttle (`authenticator.throttled`); so does
 * every 503 (`store.unavailable`: try again in a few seconds). The per-address limit of
 * src/http/rate-limit.ts does not count `/v1` routes.
 */
const RETRY_AFTER = { "Retry-After": responseHeader("Seconds to wait before retrying.") };

/** The id of the shared problem schema (added to the server by `buildServer`). */
export const PROBLEM_SCHEMA_ID = "Problem";

/** An OpenAPI response whose body is a problem document. */
export const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: `${PROBLEM_SCHEMA_ID}#` } } },
});

const PROBLEM_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: "The request is malformed (`request.invalid`).",
  401: "No or an invalid API key (`auth.*`).",
  403: "The caller's role or tenant does not allow this.",
  404: "No such resource, or the caller cannot see it.",
  409: "The resource's state does not allow this.",
  412: "The `If-Match` version is not current (`policy.version_conflict`).",
  413: "The body is too large (`request.too_large`).",
  415: "The body is not JSON, or declares a charset other than UTF-8 (`request.unsupported_media_type`).",
  422: "The request breaks a rule (policy, mandate or exemption rules, or MFA evidence that does not match its verification: `evidence.unverified`, or that a removed authenticator withdrew: `evidence.withdrawn`).",
  423: "Too many failed attempts locked the authenticator or the principal (`totp.locked`, `webauthn.locked`, `recovery_code.locked`, `authenticator.locked`), or a clone signal under the tenant's `lock` policy locked the WebAuthn credential (`webauthn.locked`).",
  428: "`If-Match` is required (`policy.precondition_required`).",
  429: "Too many failed attempts: wait `Retry-After` seconds (`auth.rate_limited`, `authenticator.throttled`).",
  500: "An internal error (`internal`), or a stored record altered outside the service (`store.record_damaged`, `receipt.tampered`, `audit.chain_damaged`): retrying will not help; run `tenant-mfa audit verify`.",
  503: "The store cannot be reached (`store.unavailable`): try again after `Retry-After` seconds.",
};

/** Registers a `/v1` route: authentication first, then every request part checked by zod. */
export function addRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(
  server: FastifyInstance,
  authenticate: (request: FastifyRequest) => Promise<void>,
  definition: RouteDefinition<P, Q, B>,
): void {
  const { params, query, body } = definition;
  const problems = new Set([400, 401, 403, 404, 429, 500, 503, ...(definition.problems ?? [])]);
  if (body !== undefined) [413, 415].forEach((status) => problems.add(status));

  const response: Record<string, unknown> = {
    [definition.success.status]: {
      description: definition.success.description,
      ...(definition.success.headers === undefined
        ? {}
        : {
            headers: Object.fromEntries(
              definition.success.headers.map((h) => [h.name, responseHeader(h.description)]),
            ),
          }),
      ...(definition.success.schema === undefined
        ? {}
        : {
            content: {
              "application/json": { schema: jsonSchema(definition.success.schema, "output") },
              ...Object.fromEntries(
                (definition.success.alternatives ?? []).map((type) => [
                  type,
                  { schema: { type: "string", description: "One JSON document per line." } },
                ]),
              ),
            },
          }),
    },
  };
  for (const status of definition.success.alsoStatuses ?? []) {
    response[status] = response[definition.success.status];
  }
  for (const status of [...problems].sort()) {
    const problem = problemResponse(PROBLEM_DESCRIPTIONS[status] ?? "A problem.");
    response[status] =
      status === 429 || status === 503 ? { ...problem, headers: RETRY_AFTER } : problem;
  }

  server.route({
    method: definition.method,
    url: definition.url,
    schema: {
      summary: definition.summary,
      ...(definition.description === undefined ? {} : { description: definition.description }),
      tags: [definition.tag],
      security: [{ bearer: [] }],
      ...(params === undefined ? {} : { params: jsonSchema(params, "input") }),
      ...(query === undefined ? {} : { querystring: jsonSchema(query, "input") }),
      ...(body === undefined ? {} : { body: jsonSchema(body, "input") }),
      ...(definition.requestHeaders === undefined
        ? {}
        : {
            headers: {
              type: "object",
              properties: Object.fromEntries(
                definition.requestHeaders.map((h) => [
                  h.name,
                  { type: "string", description: h.description },
                ]),
              ),
            },
          }),
      response,
    },
    onRequest: authenticate,
    handler: async (request, reply) => {
      const errors: InvalidPart[] = [];
      const parse = (
        schema: z.ZodType | undefined,
        value: unknown,
        part: "params" | "query" | "body",
      ): unknown => {
        if (schema === undefined) {
          if (part === "body" && value !== undefined && !isEmpty(value))
            errors.push({ pointer: "#", detail: "this route takes no body" });
          // As a schema refuses a parameter it does not declare: a filter or page size the route
          // lacks would otherwise be answered as if it had applied (every API key, say).
          if (part === "query" && typeof value === "object" && value !== null) {
            for (const name of Object.keys(value)) {
              errors.push({ pointer: `#/query/${escapePointer(name)}`, detail: "unknown field" });
            }
          }
          return undefined;
        }
        const result = schema.safeParse(value);
        if (result.success) return result.data;
        errors.push(...invalidParts(result.error, part));
        return undefined;
      };
      const parsedParams = parse(params, request.params, "params");
      const parsedQuery = parse(query, request.query ?? {}, "query");
      const parsedBody = parse(body, request.body, "body");
      if (errors.length > 0) throw new InvalidRequest(errors);
      const caller = request.caller;
      if (caller === null) throw new Error("an authenticated route ran without a caller");
      reply.code(definition.success.status);
      let result: unknown;
      try {
        result = await definition.handler({
          params: parsedParams as Parsed<P>,
          query: parsedQuery as Parsed<Q>,
          body: parsedBody as Parsed<B>,
          caller,
          request,
          reply,
        });
      } catch (error) {
        throw error instanceof InvalidInput ? pointedAt(error, { params, query, body }) : error;
      }
      // Awaiting a reply that the handler sent waits until it is sent: sending again would only
      // log Fastify's FST_ERR_REP_ALREADY_SENT. A stream that failed once its headers were out
      // was cut short (its response destroyed, never ended): there is nothing left to send.
      if (reply.sent || reply.raw.headersSent) return reply;
      return result === undefined ? reply.send() : result;
    },
  });
}

const isEmpty = (value: unknown): boolean =>
  value === null || value === "" || (typeof value === "object" && Object.keys(value).length === 0);

/**
 * A use case's refusal of fields, pointed at as the request's schema refusals are
 * (`#/query/from`): each field in the first part whose schema declares it. A field no part
 * declares is left out of `errors`; the message names it still.
 */
function pointedAt(
  error: InvalidInput,
  parts: Readonly<Record<"params" | "query" | "body", z.ZodType | undefined>>,
): InvalidRequest | InvalidInput {
  const errors: InvalidPart[] = [];
  for (const { field, detail } of error.fields()) {
    const part = (["params", "query", "body"] as const).find((name) => {
      const schema = parts[name];
      return schema instanceof z.ZodObject && Object.hasOwn(schema.shape, field);
    });
    if (part === undefined) continue;
    const base = part === "body" ? "#" : `#/${part}`;
    errors.push({ pointer: `${base}/${escapePointer(field)}`, detail });
  }
  return errors.length === 0 ? error : new InvalidRequest(errors, error.message);
}
