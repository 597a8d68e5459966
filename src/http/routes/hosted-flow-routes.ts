import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import { FLOW_RETURN_NOTICES, OPENING_PARAMETER } from "../../app/flows/flow-screens.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Application, FlowAction, FlowBrowser } from "../../app/application.js";
import type { FlowScreen } from "../../app/flows/flow-screens.js";
import { AppError } from "../../app/errors.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../app/json-depth.js";
import { FLOW_ASSET_PATH, flowAsset } from "../../pages/assets.js";
import { resolveLocale } from "../../pages/messages/index.js";
import {
  FAILURE_STATUSES,
  REFERRER_POLICY,
  renderFlowScreen,
  type PageFailureCode,
  type PageScreen,
} from "../../pages/render-flow-screen.js";
import { declaresUtf8OrNone } from "../body-charset.js";
import { browserCookie } from "../browser-cookie.js";
import { ERROR_STATUSES, HTTP_PROBLEMS } from "../error-statuses.js";
import { isPageNavigation } from "../page-navigation.js";
import {
  forAnonymousCaller,
  HttpProblem,
  InvalidRequest,
  logProblem,
  renderProblem,
  tamperingOf,
} from "../problem.js";
import { storableString, webauthnResponse } from "../request-schemas.js";
import { requestTarget } from "../request-target.js";

/**
 * The browser-facing routes of hosted flows, `/t/:tenant/flows/:flow`: the page of the flow's
 * current screen, the forms posted from it, the options of its WebAuthn ceremonies, and the
 * pages' static assets. The application decides each screen; these routes bind the flow to a
 * browser cookie, refuse cross-origin posts, and render. Whatever goes wrong, a person sees a
 * page that says what happened (never a stack, never a 500); the page's script gets a problem
 * document.
 *
 * @module
 */

/** What the hosted flow routes need. */
export interface HostedFlowRouteContext {
  readonly app: Application;
  /** The server's public base URL: its origin is the only one posts may come from. */
  readonly publicUrl: string;
}

const HTML = "text/html; charset=utf-8";

/** The route of a hosted flow's page: its failures are pages, whatever the client asks for. */
export const FLOW_PAGE_ROUTE = "/t/:tenant/flows/:flow";

/** The one-time id of an IdP answer (24 random bytes, base64url). */
const ANSWER_ID = /^[A-Za-z0-9_-]{32}$/;

/** A flow's opening secret (24 random bytes, base64url); anything else opens nothing. */
const OPENING_SECRET = /^[A-Za-z0-9_-]{32}$/;

// Path and form values are NUL-free, as everywhere in the API (PostgreSQL text cannot hold U+0000):
// a flow id holding one is answered as an unknown flow, a form field holding one as a bad form.
const segment = storableString().min(1).max(200);
const flowParams = z.strictObject({ tenant: segment, flow: segment });
const assetParams = z.strictObject({ name: z.string().max(100) });

const field = (max: number) => storableString().min(1).max(max);
const csrf = field(512);
const code = field(64);
const id = field(200);
/**
 * The JSON a WebAuthn ceremony produced, as the page's script put it in the form. It nests no
 * deeper than a JSON body may (src/app/json-depth.ts): the body parser never reads this field,
 * and 64 KiB nest thousands of levels, which the verification threads' messages cannot clone.
 */
const ceremonyResponse = z
  .string()
  .min(2)
  .max(64 * 1024)
  .transform((text, context) => {
    try {
      const value: unknown = JSON.parse(text);
      if (
        typeof value === "object" &&
        value !== null &&
        !Array.isArray(value) &&
        !nestsDeeperThan(value, MAX_JSON_DEPTH)
      ) {
        return value;
      }
    } catch {
      // Reported below.
    }
    context.addIssue({
      code: "custom",
      message: `expected the JSON of a WebAuthn response, nested at most ${String(MAX_JSON_DEPTH)} levels`,
    });
    return z.NEVER;
  })
  .pipe(webauthnResponse);

/** A form posted from a flow page: its `action` field names the {@link FlowAction}. */
const flowForm = z.discriminatedUnion("action", [
  z.object({ action: z.literal("verify_totp"), csrf, authenticator: id, code }),
  z.object({ action: z.literal("verify_recovery_code"), csrf, code }),
  z.object({
    action: z.literal("verify_webauthn"),
    csrf,
    ceremony: id,
    response: ceremonyResponse,
  }),
  z.object({ action: z.literal("enroll_totp"), csrf }),
  z.object({ action: z.literal("confirm_totp"), csrf, authenticator: id, code }),
  z.object({ action: z.literal("enroll_webauthn"), csrf }),
  z.object({
    action: z.literal("register_webauthn"),
    csrf,
    ceremony: id,
    response: ceremonyResponse,
    name: storableString().trim().max(64).optional(),
  }),
  z.object({ action: z.literal("idp"), csrf, idp: id }),
  z.object({ action: z.literal("continue"), csrf }),
]);

const optionsBody = z.strictObject({ purpose: z.enum(["registration", "authentication"]) });

/** The form as the use case takes it. */
function toAction(form: z.output<typeof flowForm>): FlowAction {
  switch (form.action) {
    case "verify_totp":
    case "confirm_totp":
      return {
        kind: form.action,
        csrf: form.csrf,
        authenticator: form.authenticator,
        code: form.code,
      };
    case "verify_recovery_code":
      return { kind: form.action, csrf: form.csrf, code: form.code };
    case "verify_webauthn":
      return {
        kind: form.action,
        csrf: form.csrf,
        ceremony: form.ceremony,
        response: form.response,
      };
    case "register_webauthn":
      return {
        kind: form.action,
        csrf: form.csrf,
        ceremony: form.ceremony,
        response: form.response,
        ...(form.name === undefined || form.name === "" ? {} : { name: form.name }),
      };
    case "idp":
      return { kind: form.action, csrf: form.csrf, idp: form.idp };
    case "enroll_totp":
    case "enroll_webauthn":
    case "continue":
      return { kind: form.action, csrf: form.csrf };
  }
}

/** Registers the hosted flow routes (with their own form and cookie parsers) on `server`. */
export function registerHostedFlowRoutes(
  server: FastifyInstance,
  { app, publicUrl }: HostedFlowRouteContext,
): void {
  void server.register(cookie);
  void server.register(formbody, { bodyLimit: 128 * 1024 });

  const publicOrigin = new URL(publicUrl).origin;
  const cookies = browserCookie(publicUrl);
  const hidden = { hide: true };
  const path = FLOW_PAGE_ROUTE;

  /** The browser behind a request; a browser without a (well-formed) cookie gets a new one. */
  function browserOf(request: FastifyRequest, reply: FastifyReply): FlowBrowser {
    return { cookie: cookies.ensure(request, reply), clientAddress: request.ip };
  }

  /** A cross-origin post (a form on another site aiming at the flow) is refused unread. */
  function crossOrigin(request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    return origin !== undefined && origin !== publicOrigin;
  }

  // Body parser failures (too large, malformed, another content type) get a page too.
  server.setErrorHandler((error, request, reply) => {
    if (request.url.split("?")[0]?.endsWith("/webauthn/options")) {
      return sendProblem(request, reply, error);
    }
    return sendFlowFailure(request, reply, error);
  });

  // The page binds the flow to its browser (setting a cookie), claims an IdP answer, and
  // completes the flow: GET only, never run for a HEAD (a link checker or prefetcher sends those
  // freely), which is refused like any method the route lacks (405, method.not_allowed).
  server.get(path, { schema: hidden, exposeHeadRoute: false }, async (request, reply) => {
    // Only the page a browser navigates to binds the flow: an <img> or <iframe> of another site
    // aiming at a flow's URL would bind the flow to a cookie the browser never keeps, leaving the
    // user's own visit a flow taken by another browser.
    if (!isPageNavigation(request)) {
      return sendPage(request, reply, failed("request.not_a_navigation"));
    }
    const params = flowParams.safeParse(request.params);
    if (!params.success) return sendPage(request, reply, failed("flow.not_found"));
    const { tenant, flow } = params.data;
    // Where the IdP leg came back refused, the page says so (a fixed list: nothing else is read);
    // where it came back verified, the answer's one-time id claims it for this browser. The
    // first visit brings the flow's opening secret, from the URL the platform sent it to.
    const query = request.query as Record<string, unknown>;
    const { notice, answer } = query;
    const told = FLOW_RETURN_NOTICES.find((code) => code === notice);
    const answered = typeof answer === "string" && ANSWER_ID.test(answer) ? answer : undefined;
    const opening = query[OPENING_PARAMETER];
    const opened =
      typeof opening === "string" && OPENING_SECRET.test(opening) ? opening : undefined;
    try {
      // The URL the flow was created with binds, and is then left at once for the flow's own URL
      // (every other parameter kept): the secret opens nothing more, and would stay in the address
      // bar, the history and the Referer of the page's own requests.
      if (Object.hasOwn(query, OPENING_PARAMETER)) {
        const entered = await app.flows.enter(tenant, flow, browserOf(request, reply), opened);
        return await sendScreen(
          request,
          reply,
          entered.kind === "redirect"
            ? { kind: "redirect", location: withoutOpening(entered.location, request.url) }
            : entered,
        );
      }
      return await sendScreen(
        request,
        reply,
        await app.flows.show(tenant, flow, browserOf(request, reply), {
          ...(told === undefined ? {} : { notice: told }),
          ...(answered === undefined ? {} : { answer: answered }),
        }),
      );
    } catch (error) {
      return sendPage(request, reply, failure(request, error));
    }
  });

  server.post(path, { schema: hidden }, async (request, reply) => {
    if (crossOrigin(request)) return sendPage(request, reply, failed("flow.csrf"));
    const params = flowParams.safeParse(request.params);
    if (!params.success) return sendPage(request, reply, failed("flow.not_found"));
    const type = request.headers["content-type"] ?? "";
    const form = flowForm.safeParse(request.body);
    // The form was decoded as UTF-8, whatever charset it declares: another is refused unread.
    if (
      !type.startsWith("application/x-www-form-urlencoded") ||
      !declaresUtf8OrNone(type) ||
      !form.success
    ) {
      request.log.info({ code: "flow.bad_request" }, "flow form refused");
      return sendPage(request, reply, failed("flow.bad_request"));
    }
    const { tenant, flow } = params.data;
    try {
      return await sendScreen(
        request,
        reply,
        await app.flows.act(tenant, flow, browserOf(request, reply), toAction(form.data)),
      );
    } catch (error) {
      return sendPage(request, reply, failure(request, error));
    }
  });

  server.post(`${path}/webauthn/options`, { schema: hidden }, async (request, reply) => {
    const token = request.headers["x-csrf-token"];
    if (crossOrigin(request) || typeof token !== "string" || token === "") {
      throw new HttpProblem("flow.csrf");
    }
    const params = flowParams.safeParse(request.params);
    // Answered as an unknown flow is (`checked` below).
    if (!params.success)
      throw new AppError("flow.unusable", undefined, { reason: "flow.not_found" });
    const body = optionsBody.safeParse(request.body);
    if (!body.success)
      throw new InvalidRequest([
        { pointer: "#/purpose", detail: "expected registration or authentication" },
      ]);
    const { tenant, flow } = params.data;
    const answer = await app.flows.webauthnOptions(tenant, flow, browserOf(request, reply), {
      csrf: token,
      purpose: body.data.purpose,
    });
    return reply.header("cache-control", "no-store").send(answer);
  });

  server.get(`${FLOW_ASSET_PATH}:name`, { schema: hidden }, async (request, reply) => {
    const params = assetParams.safeParse(request.params);
    const asset = params.success ? flowAsset(params.data.name) : undefined;
    if (asset === undefined) return sendProblem(request, reply, new AppError("not_found"));
    // A URL naming this content names it for good; another version's (a rolling deploy's other
    // instances) gets today's bytes, kept by no cache under that URL (pages/assets.ts).
    return reply
      .header("content-type", asset.contentType)
      .header("cache-control", asset.current ? "public, max-age=31536000, immutable" : "no-cache")
      .header("x-content-type-options", "nosniff")
      .send(asset.body);
  });
}

/**
 * Answers a failure at a flow's page with the page that says what happened: thrown by the route,
 * its body parser, or the router before it (a URL it cannot read, src/http/build-server.ts).
 */
export function sendFlowFailure(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
): FastifyReply {
  return sendPage(request, reply, failure(request, error));
}

/** `location` with the query of the request `url` but its opening secret. */
function withoutOpening(location: string, url: string): string {
  const target = new URL(location);
  const kept = new URLSearchParams(requestTarget(url).search);
  kept.delete(OPENING_PARAMETER);
  target.search = kept.toString();
  return target.href;
}

/** Sends a screen: a redirect, or its page. */
function sendScreen(
  request: FastifyRequest,
  reply: FastifyReply,
  screen: FlowScreen,
): FastifyReply {
  // 303: the browser follows with GET, so a posted form is never posted on. Kept by no cache: the
  // URL it answers may hold a secret, and where it leads (a code, say) is for this visit only.
  if (screen.kind === "redirect") {
    return reply
      .code(303)
      .header("location", screen.location)
      .header("cache-control", "no-store")
      .send();
  }
  return sendPage(request, reply, screen);
}

function sendPage(request: FastifyRequest, reply: FastifyReply, screen: PageScreen): FastifyReply {
  const page = renderFlowScreen(screen, {
    locale: resolveLocale(request.headers["accept-language"]),
  });
  if (page.status === 503) void reply.header("retry-after", "5");
  return reply
    .code(page.status)
    .header("content-type", HTML)
    .header("content-security-policy", page.contentSecurityPolicy)
    .header("referrer-policy", REFERRER_POLICY)
    .header("cache-control", "no-store")
    .send(page.html);
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const rendered = renderProblem(error, request.url.split("?")[0]);
  // As the JSON API logs it: a bug in full, tampering with the store at error level, an outage
  // at warn, a refusal at info.
  logProblem(request.log, error, rendered);
  const { headers } = rendered;
  // A flow's browser is not authenticated: the record is named in the log only.
  const problem = forAnonymousCaller(rendered.problem);
  return reply
    .code(problem.status)
    .headers(headers)
    .type("application/problem+json")
    .send(JSON.stringify(problem));
}

function failed(code: PageFailureCode): PageScreen {
  return { kind: "failed", code };
}

/** The failure page for anything thrown while serving a flow page. */
function failure(request: FastifyRequest, error: unknown): PageScreen {
  const code = failureCode(error);
  if (code === undefined) {
    request.log.error({ err: error }, "flow page failed");
    return failed("flow.unavailable");
  }
  const tampering = error instanceof AppError ? tamperingOf(error.code) : undefined;
  if (tampering !== undefined && error instanceof AppError) {
    // As the JSON API logs it: the store changed behind the service, what an operator must be
    // woken for. The record it names is logged only, never shown on the page.
    request.log.error(
      { code: error.code, detail: error.message, details: error.details },
      tampering,
    );
  } else if (FAILURE_STATUSES[code] >= 500) {
    request.log.warn({ err: error, code }, "flow unavailable");
  } else request.log.info({ code }, "flow refused");
  return failed(code);
}

/** The failure an error stands for, or undefined for an unexpected one (a bug, an outage). */
function failureCode(error: unknown): PageFailureCode | undefined {
  if (error instanceof InvalidRequest) return "flow.bad_request";
  if (error instanceof AppError) {
    const code: string = error.code;
    // The flow use cases may report their failures with the failure's own code.
    if (Object.hasOwn(FAILURE_STATUSES, code)) return code as PageFailureCode;
    if (error.code === "not_found") return "flow.not_found";
    if (error.code === "federation.return_to_not_allowed") return "flow.return_to_not_allowed";
    if (tamperingOf(error.code) !== undefined) return "flow.cannot_complete";
    const status: number = ERROR_STATUSES[error.code];
    if (status >= 500) return "flow.unavailable";
    if (status === 404) return "flow.not_found";
    return "flow.bad_request";
  }
  // The server's own refusals of a request's form (a JSON body in a charset other than UTF-8).
  if (error instanceof HttpProblem && HTTP_PROBLEMS[error.code].status < 500) {
    return "flow.bad_request";
  }
  // Fastify's own request errors: a body too large, malformed, of another type.
  const { statusCode } = (typeof error === "object" && error !== null ? error : {}) as {
    statusCode?: unknown;
  };
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
    return "flow.bad_request";
  }
  return undefined;
}
