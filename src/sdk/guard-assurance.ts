import type { IncomingHttpHeaders } from "node:http";
import type { RequirementSpec } from "../core/policy.js";
import type { Population } from "../core/vocabulary.js";
import type { AssuranceTokenClaims } from "./assurance-token-claims.js";
import { ASSURANCE_TOKEN_ERRORS, AssuranceTokenError } from "./assurance-token-error.js";
import {
  assertNeeds,
  checkAssurance,
  stepUpFor,
  type AssuranceNeeds,
  type AssuranceShortfall,
} from "./check-assurance.js";
import { startStepUp, type PlatformVerification } from "./start-step-up.js";
import type { TenantMfaClient } from "./tenant-mfa-client.js";
import { verifyAssuranceToken, type AssuranceTokenChecks } from "./verify-assurance-token.js";

/** A request as both Node's `http` and Fastify give it: only its headers are read by default. */
export interface RequestWithHeaders {
  readonly headers: IncomingHttpHeaders;
}

/** How a route guard finds, verifies and judges the assurance token of a request. */
export interface AssuranceGuardOptions<Req extends RequestWithHeaders> {
  /**
   * Keys, issuer, audience and clock tolerance. `tenant`/`subject` there apply to every request,
   * beside (never replaced by) the request's `tenant(req)` and `principal(req)`.
   */
  readonly verify: AssuranceTokenChecks;
  /** What the action needs, or a function choosing per request. */
  readonly needs: AssuranceNeeds | ((req: Req) => AssuranceNeeds);
  /** Reads the token. Default: `Authorization: Bearer <token>`, else the cookie named `cookie`. */
  readonly token?: (req: Req) => string | undefined;
  /** The cookie holding the token, when the default reader is used. */
  readonly cookie?: string;
  /**
   * The tenant the request acts in, from your routing: the token must be for it. Required unless
   * `verify.tenant` names the one tenant every request acts in: a guard never accepts a token of
   * any tenant.
   */
  readonly tenant?: (req: Req) => string | undefined;
  /**
   * Your session's signed-in principal: the token must be for it, and step-up is started for it.
   * Required unless `verify.subject` names the one principal, or `anyPrincipal` says the token is
   * the route's only sign-in: else the guard would let a user's own token pass beside another
   * user's session (their MFA standing in for the victim's step-up).
   */
  readonly principal?: (
    req: Req,
  ) => { readonly id: string; readonly population?: Population } | undefined;
  /**
   * For routes with no session of your own, where the token alone says who signed in
   * (`req.assurance.sub`): any principal's token of the tenant passes. Not with `principal`.
   */
  readonly anyPrincipal?: true;
  /**
   * For browser routes: on a missing, expired or insufficient token, start a hosted flow and
   * redirect (303) to it rather than answer 401/403. Needs `tenant` and `principal`.
   */
  readonly stepUp?: {
    readonly client: TenantMfaClient;
    /** Your callback, registered for the tenant; it exchanges the code and stores the token. */
    readonly returnTo: string | ((req: Req) => string);
    /** A value bound to the browser's session, compared by your callback (CSRF on the return). */
    readonly state?: (req: Req) => string | undefined | Promise<string | undefined>;
    /** What your backend verified (its password check) before this request. */
    readonly verified?: (req: Req) => readonly PlatformVerification[] | undefined;
    /** The token's `aud`, when it is not the API key's id. */
    readonly audience?: string;
  };
  /** The time tokens are judged at. Default: now. */
  readonly now?: () => Date;
}

/** An RFC 9457 problem naming why a request was refused. */
export interface AssuranceProblem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  /** For `assurance.insufficient`: what the token lacks. */
  readonly shortfall?: AssuranceShortfall;
  /** For `assurance.insufficient`: what to ask for in a flow's `step_up`. */
  readonly step_up?: RequirementSpec;
}

/** What a guard decided for one request. */
export type GuardOutcome =
  | { readonly kind: "pass"; readonly claims: AssuranceTokenClaims }
  | {
      readonly kind: "refuse";
      readonly problem: AssuranceProblem;
      readonly headers: Readonly<Record<string, string>>;
    }
  | { readonly kind: "redirect"; readonly location: string };

const INSUFFICIENT = "assurance.insufficient";

/**
 * Throws when the options cannot guard safely: unknown needs, no way to know the tenant, or none
 * to know the principal (unless `anyPrincipal`).
 */
export function assertGuardOptions<Req extends RequestWithHeaders>(
  options: AssuranceGuardOptions<Req>,
): void {
  assertBindings(options);
  if (typeof options.needs !== "function") assertNeeds(options.needs);
  if (options.stepUp !== undefined && options.principal === undefined)
    throw new TypeError("stepUp needs principal(req): a flow is started for your session's user");
}

/** Whom the guard binds tokens to: a tenant always, a principal unless told not to. */
function assertBindings<Req extends RequestWithHeaders>(options: AssuranceGuardOptions<Req>): void {
  if (options.tenant === undefined && options.verify.tenant === undefined)
    throw new TypeError("give tenant(req) or verify.tenant: a guard must bind tokens to a tenant");
  if (options.anyPrincipal !== undefined && options.principal !== undefined)
    throw new TypeError("give principal(req) or anyPrincipal, not both");
  if (
    options.principal === undefined &&
    options.verify.subject === undefined &&
    options.anyPrincipal !== true
  )
    throw new TypeError(
      "give principal(req), verify.subject or anyPrincipal: true: a guard must bind tokens to your session's user, or say that the token is the only sign-in",
    );
}

/**
 * Decides one request: the token passes only when it verifies, is for the request's tenant and
 * principal, and meets the action's needs. Fails closed: an unreadable token is refused, and an
 * outage of the key set refuses (503) rather than passes.
 */
export async function guardAssurance<Req extends RequestWithHeaders>(
  options: AssuranceGuardOptions<Req>,
  req: Req,
): Promise<GuardOutcome> {
  assertBindings(options);
  const now = options.now?.() ?? new Date();
  const needs = typeof options.needs === "function" ? options.needs(req) : options.needs;
  assertNeeds(needs);
  const tenant = options.tenant === undefined ? options.verify.tenant : options.tenant(req);
  // A route whose tenant cannot be read is a bug in the platform: fail, never check no tenant.
  if (tenant === undefined || tenant.length === 0)
    throw new TypeError("the request's tenant could not be read: no token can be checked for it");
  const principal = options.principal?.(req);
  const token = (options.token ?? defaultTokenReader(options.cookie))(req);

  let claims: AssuranceTokenClaims;
  try {
    // A guard built for one tenant or one subject keeps to it: the request's (the URL's, say)
    // is checked as well, never instead, and no flow is started for another.
    if (options.verify.tenant !== undefined && tenant !== options.verify.tenant)
      throw new AssuranceTokenError("token.wrong_tenant");
    if (
      options.verify.subject !== undefined &&
      principal !== undefined &&
      principal.id !== options.verify.subject
    )
      throw new AssuranceTokenError("token.wrong_subject");
    if (token === undefined || token.length === 0) throw new AssuranceTokenError("token.missing");
    // A guard told whose token to expect, with nobody signed in: no token can be theirs, and
    // checking none would let any principal's token of the tenant through.
    if (options.principal !== undefined && (principal === undefined || principal.id.length === 0))
      throw new AssuranceTokenError("token.wrong_subject");
    claims = await verifyAssuranceToken(token, {
      ...options.verify,
      tenant,
      ...(principal === undefined ? {} : { subject: principal.id }),
      currentDate: now,
    });
  } catch (error) {
    if (!(error instanceof AssuranceTokenError)) throw error;
    // No proof, or a proof that has lapsed: a new flow can give one. A forged, foreign or
    // misdirected token is refused outright: redirecting would hide the attack.
    if (error.code === "token.missing" || error.code === "token.expired") {
      const redirect = await redirectToStepUp(options, req, tenant, principal, stepUpFor(needs));
      if (redirect !== undefined) return redirect;
    }
    return refuse(
      error.code,
      error.code === "token.keys_unavailable" ? 503 : 401,
      ASSURANCE_TOKEN_ERRORS[error.code],
    );
  }

  const check = checkAssurance(claims, needs, now);
  if (check.ok) return { kind: "pass", claims };
  const redirect = await redirectToStepUp(options, req, tenant, principal, check.stepUp);
  if (redirect !== undefined) return redirect;
  return refuse(INSUFFICIENT, 403, describeShortfall(check.shortfall), {
    shortfall: check.shortfall,
    step_up: check.stepUp,
  });
}

async function redirectToStepUp<Req extends RequestWithHeaders>(
  options: AssuranceGuardOptions<Req>,
  req: Req,
  tenant: string,
  principal: { readonly id: string; readonly population?: Population } | undefined,
  stepUp: RequirementSpec,
): Promise<GuardOutcome | undefined> {
  const config = options.stepUp;
  if (config === undefined || principal === undefined) return undefined;
  const state = await config.state?.(req);
  const verified = config.verified?.(req);
  const started = await startStepUp(config.client, {
    tenant,
    principal,
    returnTo: typeof config.returnTo === "function" ? config.returnTo(req) : config.returnTo,
    stepUp,
    ...(state === undefined ? {} : { state }),
    ...(verified === undefined ? {} : { verified }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  });
  return { kind: "redirect", location: started.url };
}

function refuse(
  code: string,
  status: number,
  detail: string,
  extra: Pick<AssuranceProblem, "shortfall" | "step_up"> = {},
): GuardOutcome {
  const headers: Record<string, string> = { "cache-control": "no-store" };
  // RFC 6750 §3: a 401 names the scheme; `invalid_token` when a token was presented.
  if (status === 401)
    headers["www-authenticate"] =
      code === "token.missing"
        ? 'Bearer realm="assurance"'
        : 'Bearer realm="assurance", error="invalid_token"';
  return {
    kind: "refuse",
    problem: {
      type: `urn:tenant-mfa:problem:${code}`,
      title:
        code === INSUFFICIENT
          ? "The sign-in does not meet what this action needs."
          : "The assurance token was not accepted.",
      status,
      detail,
      code,
      ...extra,
    },
    headers,
  };
}

function describeShortfall(shortfall: AssuranceShortfall): string {
  const parts: string[] = [];
  if (shortfall.aal !== undefined)
    parts.push(
      `AAL${String(shortfall.aal.required)} is needed, the sign-in proved AAL${String(shortfall.aal.actual)}`,
    );
  if (shortfall.phishingResistant !== undefined)
    parts.push("a phishing-resistant method is needed");
  if (shortfall.age !== undefined)
    parts.push(
      `the proof must be at most ${String(shortfall.age.maxAgeSeconds)} s old, it is ${String(shortfall.age.ageSeconds)} s old`,
    );
  return `${parts.join("; ")}.`;
}

/** Reads `Authorization: Bearer <token>`, else the cookie `cookieName` when given. */
export function defaultTokenReader(cookieName: string | undefined) {
  return (req: RequestWithHeaders): string | undefined => {
    const authorization = req.headers.authorization;
    const bearer =
      typeof authorization === "string" ? /^Bearer +([^\s]+)$/i.exec(authorization) : null;
    if (bearer?.[1] !== undefined) return bearer[1];
    if (cookieName === undefined) return undefined;
    return readCookie(req.headers.cookie, cookieName);
  };
}

/** One cookie's value from a `Cookie` header (RFC 6265 §5.4), or undefined. */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const separator = pair.indexOf("=");
    if (separator < 0 || pair.slice(0, separator).trim() !== name) continue;
    let value = pair.slice(separator + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2)
      value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}
