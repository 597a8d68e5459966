import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import type { Application, FederationRedirect } from "../../app/application.js";
import { declaresUtf8OrNone, FORM_NOT_UTF8_DETAIL } from "../body-charset.js";
import { browserCookie } from "../browser-cookie.js";
import { isPageNavigation } from "../page-navigation.js";
import {
  forAnonymousCaller,
  HttpProblem,
  InvalidRequest,
  invalidParts,
  logProblem,
  renderProblem,
} from "../problem.js";
import { requestTarget } from "../request-target.js";
import {
  federationStartQuery,
  idpParams,
  storableString,
  oidcCallbackQuery,
  samlAcsBody,
  samlCompletionQuery,
} from "../request-schemas.js";

/** What the federation routes need. */
export interface FederationRouteContext {
  readonly app: Application;
  /** The server's public base URL: the OIDC callback is checked against it, not the Host header. */
  readonly publicUrl: string;
}

const SAML_METADATA = "application/samlmetadata+xml";
const HTML = "text/html; charset=utf-8";

/** The prefix of the federation endpoints' routes: their failures are pages (or JSON, if asked). */
export const FEDERATION_ROUTE_PREFIX = "/t/:tenant/idps/:idp/";

/**
 * The browser-facing endpoints of SAML and OIDC sign-in, under `/t/:tenant/idps/:idp/`. No API
 * key: the browser carries the protocol messages, and the verifiers check them. A start binds
 * its sign-in to the browser cookie (setting one on a browser without), and the answer counts
 * only where that cookie comes back: at the OIDC callback, or, for SAML, whose ACS is posted
 * across sites without it, at the completion the ACS redirects to. A refusal is shown to the
 * person as a short explanation (never a stack), or as a problem document to a client that asks
 * for JSON.
 */
export function registerFederationRoutes(
  server: FastifyInstance,
  { app, publicUrl }: FederationRouteContext,
): void {
  // The SAML HTTP-POST binding posts a form; the parser is scoped to these routes only.
  void server.register(formbody, { bodyLimit: 1024 * 1024 });
  void server.register(cookie);
  const cookies = browserCookie(publicUrl);
  // What the body parsers refuse before a route runs (another media type, too large, malformed)
  // is answered as the routes answer their own failures: a page, or a problem for JSON clients.
  server.setErrorHandler((error, request, reply) => sendFederationFailure(request, reply, error));

  const base = FEDERATION_ROUTE_PREFIX.slice(0, -1);
  const hidden = { hide: true };
  // A GET that changes something (a sign-in remembered, a cookie set, a held answer claimed, a
  // code redeemed) answers GET only: Fastify would otherwise run it for HEAD too, which link
  // checkers and prefetchers send freely, and use up what the browser was to use. HEAD there is
  // refused like any method the route lacks (405, method.not_allowed). And it runs only for a
  // page the browser navigates to, as a hosted flow's page does: embedded by another site, it is
  // refused before anything is read or set.
  const changing = {
    schema: hidden,
    exposeHeadRoute: false,
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      if (!isPageNavigation(request)) {
        return sendFederationFailure(request, reply, new HttpProblem("request.not_a_navigation"));
      }
      return undefined;
    },
  };

  server.get(`${base}/saml/metadata`, { schema: hidden }, async (request, reply) =>
    browser(request, reply, async () => {
      const { tenant, idp } = check(idpParams, request.params, "params");
      reply.type(SAML_METADATA);
      return app.federation.samlMetadata(tenant, idp);
    }),
  );

  server.get(`${base}/start`, changing, async (request, reply) =>
    browser(request, reply, async () => {
      const { tenant, idp } = check(idpParams, request.params, "params");
      const query = check(federationStartQuery, request.query, "query");
      return redirect(
        reply,
        await app.federation.start(tenant, idp, {
          returnTo: query.return_to,
          ...(query.principal === undefined ? {} : { principal: query.principal }),
          force: query.force === "true",
          clientAddress: request.ip,
          browser: cookies.ensure(request, reply),
        }),
      );
    }),
  );

  server.post(`${base}/saml/acs`, { schema: hidden }, async (request, reply) =>
    browser(request, reply, async () => {
      // The form was decoded as UTF-8, whatever charset it declares: another is refused unread.
      if (!declaresUtf8OrNone(request.headers["content-type"] ?? "")) {
        throw new HttpProblem("request.unsupported_media_type", FORM_NOT_UTF8_DETAIL);
      }
      const { tenant, idp } = check(idpParams, request.params, "params");
      const form = check(samlAcsBody, request.body ?? {}, "body");
      return redirect(
        reply,
        await app.federation.samlResponse(tenant, idp, {
          samlResponse: form.SAMLResponse,
          ...(form.RelayState === undefined ? {} : { relayState: form.RelayState }),
          clientAddress: request.ip,
        }),
      );
    }),
  );

  // A same-origin GET, so the browser's SameSite=Lax cookie comes with it (the ACS's POST came
  // from the IdP's site without it): the held answer completes for its own browser only.
  server.get(`${base}/saml/complete`, changing, async (request, reply) =>
    browser(request, reply, async () => {
      const { tenant, idp } = check(idpParams, request.params, "params");
      const query = check(samlCompletionQuery, request.query, "query");
      return redirect(
        reply,
        await app.federation.samlCompletion(tenant, idp, {
          answer: query.answer,
          browser: cookies.read(request),
          clientAddress: request.ip,
        }),
      );
    }),
  );

  server.get(`${base}/oidc/callback`, changing, async (request, reply) =>
    browser(request, reply, async () => {
      const { tenant, idp } = check(idpParams, request.params, "params");
      const query = check(oidcCallbackQuery, request.query, "query");
      // A state holding NUL names no sign-in (PostgreSQL text cannot even hold one): it is not
      // looked up, and is answered as an unknown state is.
      const state = storableString().safeParse(query["state"]).data;
      // The verifier reads the answer from the callback URL (this fixed route's query), which is
      // rebuilt from the public URL and the request's path and query, never from a Host header
      // or the authority of an absolute-form target, which a client controls.
      const { path, search } = requestTarget(request.url);
      return redirect(
        reply,
        await app.federation.oidcCallback(tenant, idp, {
          callbackUrl: `${publicUrl.replace(/\/+$/, "")}${path}${search}`,
          ...(state === undefined ? {} : { state }),
          browser: cookies.read(request),
          clientAddress: request.ip,
        }),
      );
    }),
  );
}

function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: "params" | "query" | "body",
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidRequest(invalidParts(result.error, part));
  return result.data;
}

function redirect(reply: FastifyReply, to: FederationRedirect): FastifyReply {
  // 303: the browser follows with GET, so a posted SAML response is never posted on.
  return reply.code(303).header("location", to.location).send();
}

/** Runs a browser endpoint: a failure becomes an explanation page, or a problem for JSON clients. */
async function browser(
  request: FastifyRequest,
  reply: FastifyReply,
  work: () => Promise<unknown>,
): Promise<unknown> {
  try {
    return await work();
  } catch (error) {
    return sendFederationFailure(request, reply, error);
  }
}

/**
 * Answers a failure at a federation endpoint: an explanation page, or a problem document for a
 * client that asks for JSON ({@link wantsJson}). Thrown by the route, or by the router before it
 * (a URL it cannot read, src/http/build-server.ts).
 */
export function sendFederationFailure(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
): FastifyReply {
  const rendered = renderProblem(error, requestTarget(request.url).path);
  // As the JSON API logs it: a bug in full, tampering with the store at error level with the
  // record it names, an outage at warn, a refusal at info.
  logProblem(request.log, error, rendered);
  const problem = forAnonymousCaller(rendered.problem);
  reply.code(problem.status).headers(rendered.headers);
  if (wantsJson(request)) return reply.type("application/problem+json").send(problem);
  const back = problem.details?.["returnTo"];
  // A person reads the page on this origin: it says nothing the request wrote, or a link could
  // make it say anything. The parts of an invalid request are named by the request's own field
  // names (a query parameter's, a form's), for a client that asks for JSON.
  const detail = problem.errors === undefined ? problem.detail : problem.title;
  return reply.type(HTML).send(page(problem.title, detail, problem.code, back));
}

/**
 * Whether a failure at a federation endpoint is answered as a problem document rather than a
 * page: only for a client that asks for JSON and not for HTML (a script; browsers ask for HTML).
 */
export function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? "";
  return /application\/(problem\+)?json/.test(accept) && !accept.includes("text/html");
}

function page(title: string, detail: string, code: string, back: unknown): string {
  const link =
    typeof back === "string"
      ? `<p><a href="${escape(back)}">Return to the application</a></p>`
      : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in could not be completed</title></head>
<body><main>
<h1>Sign-in could not be completed</h1>
<p>${escape(title)}</p>
${detail === title ? "" : `<p>${escape(detail)}</p>`}
<p>Reference: <code>${escape(code)}</code>. Start the sign-in again; if this keeps happening, tell your administrator this reference.</p>
${link}
</main></body></html>
`;
}

function escape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}
