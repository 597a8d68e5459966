import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from "jose";
import { ASSURANCE_TOKEN_TYPE, type AssuranceTokenClaims } from "./assurance-token-claims.js";
import { AssuranceTokenError, type AssuranceTokenErrorCode } from "./assurance-token-error.js";
import { isLoopbackHost } from "./is-loopback-host.js";
import { readBodyUpTo } from "./read-body-up-to.js";

/** Where the keys come from: a JWK Set (or key getter) you hold, or tenant-mfa's JWKS URL. */
export type AssuranceKeySource =
  | {
      /** A JWK Set, or a key getter such as `jose`'s `createRemoteJWKSet(...)`. */
      readonly jwks: JSONWebKeySet | JWTVerifyGetKey;
      readonly jwksUrl?: never;
    }
  | {
      /**
       * `https://…/.well-known/jwks.json` of tenant-mfa (`http:` only on loopback). Fetched with
       * `jose`'s cache: 5 min at most, a refetch for an unknown `kid` at most every 30 s, 5 s
       * timeout, and a body of 256 KiB at most; after a failed fetch, none for 5 s.
       */
      readonly jwksUrl: string | URL;
      readonly jwks?: never;
    };

/**
 * What a token must be, with the tenant left open: the settings a route guard holds, which finds
 * each request's tenant in its routing.
 */
export type AssuranceTokenChecks = AssuranceKeySource & {
  /** tenant-mfa's issuer (`iss`), compared exactly. */
  readonly issuer: string;
  /** Your client's audience (`aud`): the one given when the flow was created. */
  readonly audience: string;
  /** The tenant the token must be for (your session's tenant). */
  readonly tenant?: string;
  /** The principal the token must be for (your session's user id, within `tenant`). */
  readonly subject?: string;
  /** Clock skew allowed on `exp`, `nbf`, `iat` and `auth_time`, in seconds. Default 60. */
  readonly clockToleranceSeconds?: number;
  /** The time to verify at. Default: now. */
  readonly currentDate?: Date;
};

/**
 * What a token must be to be accepted. `tenant` is required: one tenant-mfa signs the tokens of
 * every tenant with the same keys and for the same audience, so a check without it would let a
 * token proving MFA for a user of tenant A pass for the user of that id in tenant B.
 */
export type VerifyAssuranceTokenOptions = AssuranceTokenChecks & { readonly tenant: string };

/** Assurance tokens are signed with ES256 (the default) or EdDSA; nothing else is accepted. */
const ALGORITHMS = ["ES256", "EdDSA"];

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;

// One cached remote key set per URL for the process, so that jose's cache and refetch cooldown
// apply across calls; local sets are kept per object, so their keys are imported once, with the
// keys they were made from (see `keyGetter`).
const remoteSets = new Map<string, JWTVerifyGetKey>();
/**
 * When each remote set's last fetch failed (`Date.now()`), while no fetch has succeeded since,
 * and the keys fetched before it, which still serve while fresh (see `pausingAfterFailure`).
 */
const failedFetches = new Map<
  string,
  { readonly at: number; readonly cached: JWTVerifyGetKey | undefined }
>();
const localSets = new WeakMap<
  JSONWebKeySet,
  { readonly keys: string; readonly getKey: JWTVerifyGetKey }
>();

/**
 * How long a fetched key set is used: what tenant-mfa's JWKS says (`max-age=300`), not jose's
 * default of ten minutes, so that a key withdrawn as compromised stops verifying within five.
 */
const KEY_SET_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * The largest key set body read: tenant-mfa publishes a few keys, about a kilobyte. `jose` reads
 * a body whole, for as long as its timeout lasts, and parses it: a URL answering without end (a
 * misrouted `jwksUrl`, a compromised host) would fill the platform's memory at every refetch.
 */
const KEY_SET_MAX_BYTES = 256 * 1024;

/**
 * How long after a failed fetch of a key set nothing is fetched again: a token the set's fresh
 * keys verify still does, and every other is refused as `token.keys_unavailable`. `jose` refetches a set it lacks (or whose cache has expired) at every
 * call, its cooldown covering unknown `kid`s only, and anyone can make the platform verify a
 * well-formed token: without a pause, an outage of tenant-mfa's JWKS made every request to the
 * platform a request to it.
 */
const FAILED_FETCH_PAUSE_MS = 5 * 1000;

/** `fetch` for the key set, refusing (as a fetch failure) a body larger than the limit. */
async function fetchKeySet(url: string, init: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  // jose refuses anything but a 200 without reading it.
  if (response.status !== 200) return response;
  const body = await readBodyUpTo(response, KEY_SET_MAX_BYTES);
  if (body === undefined)
    throw new Error(`the key set at ${url} is larger than ${String(KEY_SET_MAX_BYTES)} bytes`);
  return new Response(body, { status: 200, headers: response.headers });
}

function keyGetter(source: AssuranceKeySource): JWTVerifyGetKey {
  if (source.jwksUrl !== undefined) {
    const url = new URL(source.jwksUrl);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname)))
      throw new TypeError(
        "jwksUrl must be https (http only on loopback): keys fetched in clear could be swapped",
      );
    let remote = remoteSets.get(url.href);
    if (remote === undefined) {
      remote = pausingAfterFailure(
        url.href,
        createRemoteJWKSet(url, {
          cacheMaxAge: KEY_SET_MAX_AGE_MS,
          [customFetch]: fetchKeySet,
        }),
      );
      remoteSets.set(url.href, remote);
    }
    return remote;
  }
  if (typeof source.jwks === "function") return failingClosed(source.jwks);
  if (typeof source.jwks !== "object" || source.jwks === null)
    throw new TypeError("give either jwks or jwksUrl");
  // jose snapshots the set it is given: a platform refreshing the object it holds (a key
  // withdrawn as compromised, a successor published) must get a getter of the keys it holds now.
  const keys = JSON.stringify(source.jwks);
  let local = localSets.get(source.jwks);
  if (local?.keys !== keys) {
    local = { keys, getKey: createLocalJWKSet(source.jwks) };
    localSets.set(source.jwks, local);
  }
  return local.getKey;
}

/**
 * A remote set's key getter that, for {@link FAILED_FETCH_PAUSE_MS} after a failed fetch, fetches
 * nothing: a token whose key the set fetched before holds is verified with it while that set is
 * fresh (a failed refetch for one invented `kid` must not refuse every genuine token), and any
 * other is refused as `token.keys_unavailable` without asking `jose` (which would fetch again).
 */
function pausingAfterFailure(href: string, remote: RemoteJWKSet): JWTVerifyGetKey {
  const getKey = failingClosed(remote);
  const paused = () =>
    new AssuranceTokenError(
      "token.keys_unavailable",
      "The key set could not be fetched moments ago; it is fetched again after a pause.",
    );
  return async (header, token) => {
    const failed = failedFetches.get(href);
    if (failed !== undefined && Date.now() - failed.at < FAILED_FETCH_PAUSE_MS) {
      if (failed.cached === undefined || !remote.fresh) throw paused();
      try {
        return await failed.cached(header, token);
      } catch (error) {
        // A key the set lacks would be fetched for: refused as a failed fetch is.
        if (error instanceof errors.JWKSNoMatchingKey) throw paused();
        throw error;
      }
    }
    try {
      const key = await getKey(header, token);
      failedFetches.delete(href);
      return key;
    } catch (error) {
      if (error instanceof AssuranceTokenError && error.code === "token.keys_unavailable") {
        const held = remote.fresh ? remote.jwks() : undefined;
        failedFetches.set(href, {
          at: Date.now(),
          cached: held === undefined ? undefined : failingClosed(createLocalJWKSet(held)),
        });
      } else failedFetches.delete(href);
      throw error;
    }
  };
}

/**
 * A key getter whose fetch failures (a timeout, a refused connection, a non-200, a broken set)
 * refuse every token as `token.keys_unavailable`; a key it lacks stays `token.invalid`.
 */
function failingClosed(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSEAlgNotAllowed ||
        error instanceof errors.JOSENotSupported
      )
        throw error;
      throw new AssuranceTokenError("token.keys_unavailable", undefined, { cause: error });
    }
  };
}

/**
 * Verifies an assurance token from tenant-mfa and returns its claims, or throws an
 * {@link AssuranceTokenError} saying which check failed. Checks, in order: a compact JWS signed
 * with ES256 or EdDSA by a published key (the algorithm is never taken from the header alone, and
 * embedded `jwk`/`jku` headers are ignored), `typ: tenant-mfa-assurance+jwt`, the issuer and the
 * audience exactly, every claim present with its type, `tenant` and `subject`, then `exp`/`nbf`
 * with the tolerance and `iat` and `auth_time` not ahead of now (which `jose` leaves unchecked):
 * a genuine token of another tenant or principal is refused as such, never as merely expired.
 */
export async function verifyAssuranceToken(
  token: string,
  options: VerifyAssuranceTokenOptions,
): Promise<AssuranceTokenClaims> {
  if (typeof token !== "string" || token.length === 0)
    throw new AssuranceTokenError("token.missing");
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0)
    throw new TypeError("clockToleranceSeconds must be a non-negative number");
  // jose checks neither issuer nor audience when it is given none, and the tenant is ours to
  // check: a JavaScript caller's missing setting would accept a token of any of them.
  for (const name of ["issuer", "audience", "tenant"] as const) {
    const value: unknown = options[name];
    if (typeof value !== "string" || value.length === 0)
      throw new TypeError(`${name} is required: without it a token of any ${name} would pass`);
  }
  const currentDate = options.currentDate ?? new Date();
  // jose compares `exp` and `nbf` with NaN for an invalid date, and every comparison is false:
  // a token that expired long ago would pass.
  if (!(currentDate instanceof Date) || Number.isNaN(currentDate.getTime()))
    throw new TypeError("currentDate must be a valid Date: no token can be judged at no time");
  const getKey = keyGetter(options);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      algorithms: ALGORITHMS,
      typ: ASSURANCE_TOKEN_TYPE,
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ["exp", "iat"],
      clockTolerance: tolerance,
      currentDate,
    }));
  } catch (error) {
    // `jose` judges the time claims after the signature, issuer and audience, and before the
    // tenant and subject are ours to read: a token of someone else is refused as theirs, not as
    // lapsed, which a guard would answer with a new flow (see `bindingRefusal`).
    if (
      (error instanceof errors.JWTExpired || error instanceof errors.JWTClaimValidationFailed) &&
      ["exp", "nbf", "iat"].includes(error.claim)
    ) {
      const foreign = bindingRefusal(error.payload, options);
      if (foreign !== undefined) throw foreign;
    }
    throw refusal(error);
  }
  const claims = readClaims(payload);
  const foreign = bindingRefusal(claims, options);
  if (foreign !== undefined) throw foreign;
  const now = Math.floor(currentDate.getTime() / 1000);
  if (claims.iat > now + tolerance)
    throw new AssuranceTokenError("token.not_yet_valid", "The token's `iat` lies in the future.");
  if (claims.auth_time > now + tolerance)
    throw new AssuranceTokenError(
      "token.not_yet_valid",
      "The token's `auth_time` lies in the future.",
    );
  // tenant-mfa never lets a token outlive its exemption; a token that does (from a server
  // before that rule, or altered in transit and re-signed by a leaked key) is refused as expired.
  if (claims.exemption !== undefined && claims.exemption.expires_at <= now - tolerance)
    throw new AssuranceTokenError(
      "token.expired",
      "The exemption that let the token's sign-in through has ended.",
    );
  if (claims.aud !== options.audience) throw new AssuranceTokenError("token.wrong_audience");
  return claims;
}

/**
 * The refusal of a signed payload made for another tenant or principal than `options` name, or
 * undefined. Checked before its times: a genuine token of someone else that has also expired is
 * still someone else's (stolen, or planted in a cookie), and `token.expired` would have a
 * browser guard start a flow for it and hide it from whoever counts `token.wrong_tenant`.
 */
function bindingRefusal(
  payload: { readonly tenant?: unknown; readonly sub?: unknown },
  options: VerifyAssuranceTokenOptions,
): AssuranceTokenError | undefined {
  if (payload.tenant !== options.tenant) return new AssuranceTokenError("token.wrong_tenant");
  if (options.subject !== undefined && payload.sub !== options.subject)
    return new AssuranceTokenError("token.wrong_subject");
  return undefined;
}

/** The stable code for what `jose` refused. */
function refusal(error: unknown): AssuranceTokenError {
  if (error instanceof AssuranceTokenError) return error;
  const code = ((): AssuranceTokenErrorCode => {
    if (error instanceof errors.JWTExpired) return "token.expired";
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.reason === "missing") return "token.invalid_claims";
      switch (error.claim) {
        case "typ":
          return "token.wrong_type";
        case "iss":
          return "token.wrong_issuer";
        case "aud":
          return "token.wrong_audience";
        case "nbf":
        case "iat":
          return "token.not_yet_valid";
        default:
          return "token.invalid_claims";
      }
    }
    if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
      return "token.malformed";
    if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
      return "token.keys_unavailable";
    // A bad signature, a disallowed algorithm, an unknown key: the token is not ours.
    return "token.invalid";
  })();
  return new AssuranceTokenError(code, undefined, { cause: error });
}

const isString = (value: unknown): value is string => typeof value === "string" && value.length > 0;
const isTime = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The claims, each checked for presence and type; unknown claims are dropped. */
function readClaims(payload: JWTPayload): AssuranceTokenClaims {
  const p = payload as Record<string, unknown>;
  const invalid = (claim: string) =>
    new AssuranceTokenError(
      "token.invalid_claims",
      `The token's \`${claim}\` claim is missing or malformed.`,
    );
  for (const claim of ["iss", "sub", "aud", "tenant", "acr", "decision", "jti"])
    if (!isString(p[claim])) throw invalid(claim);
  for (const claim of ["auth_time", "iat", "exp"]) if (!isTime(p[claim])) throw invalid(claim);
  const { amr, aal, phr, policy_versions: versions, exemption } = p;
  if (!Array.isArray(amr) || !amr.every(isString)) throw invalid("amr");
  if (aal !== 0 && aal !== 1 && aal !== 2 && aal !== 3) throw invalid("aal");
  if (typeof phr !== "boolean") throw invalid("phr");
  if (
    !isRecord(versions) ||
    !(versions.tenant_policy === null || isTime(versions.tenant_policy)) ||
    !Array.isArray(versions.mandates) ||
    !versions.mandates.every((m) => isRecord(m) && isString(m.id) && isTime(m.version))
  )
    throw invalid("policy_versions");
  if (
    exemption !== undefined &&
    !(isRecord(exemption) && isString(exemption.id) && isTime(exemption.expires_at))
  )
    throw invalid("exemption");
  const mandates = versions.mandates as readonly { id: string; version: number }[];
  return Object.freeze({
    iss: p.iss as string,
    sub: p.sub as string,
    aud: p.aud as string,
    tenant: p.tenant as string,
    acr: p.acr as string,
    amr: Object.freeze([...amr]),
    auth_time: p.auth_time as number,
    aal,
    phr,
    decision: p.decision as string,
    policy_versions: Object.freeze({
      tenant_policy: versions.tenant_policy,
      mandates: Object.freeze(mandates.map(({ id, version }) => Object.freeze({ id, version }))),
    }),
    ...(exemption === undefined
      ? {}
      : {
          exemption: Object.freeze({
            id: (exemption as { id: string }).id,
            expires_at: (exemption as { expires_at: number }).expires_at,
          }),
        }),
    iat: p.iat as number,
    exp: p.exp as number,
    jti: p.jti as string,
  });
}
