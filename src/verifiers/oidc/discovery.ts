import type { IdpRegistrationVersion } from "../../app/federation/protocols.js";
import { entryBytes, type CacheBudget } from "./cache-budget.js";
import { fetchJson, type FetchLike } from "./fetch-json.js";
import { fetchServes, RegistrationsServed } from "./registrations-served.js";
import { accept, describeUntrusted, isPlainObject, reject, type OidcOutcome } from "./rejection.js";
import { within } from "./within.js";

/** What this relying party needs from an IdP's discovery document, checked. */
export interface ProviderMetadata {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  /** `token_endpoint_auth_methods_supported`; OIDC Discovery §3 defaults it to `client_secret_basic`. */
  readonly tokenEndpointAuthMethods: readonly string[];
  /** RFC 9207: the IdP puts `iss` in every authorization response, so a missing one is a mix-up. */
  readonly issParameterSupported: boolean;
  /**
   * `claims_parameter_supported`; OIDC Discovery §3 defaults it to false. Decides how the
   * authorization request asks for an `acr` (see `buildAuthorizationUrl`).
   */
  readonly claimsParameterSupported: boolean;
}

export interface DiscoverySettings {
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
  readonly maxAgeMs: number;
  readonly clock: () => number;
  readonly allowHttp: boolean;
  /** How long a page waits for a document not yet cached ({@link Discovery.cachedFor}). */
  readonly pageWaitMs: number;
  /** How long after a failed fetch pages do not start another ({@link Discovery.cachedFor}). */
  readonly failureMemoryMs: number;
  /** What the cached documents may hold, shared with the key sets. */
  readonly budget: CacheBudget;
}

export interface Discovery {
  /**
   * The issuer's document, cached up to its maximum age; `registration`: the tenant's
   * registration it is read for, whose new version is served a document fetched after it was met.
   */
  metadataFor(
    issuer: string,
    registration?: IdpRegistrationVersion,
  ): Promise<OidcOutcome<ProviderMetadata>>;
  /**
   * The document as a page may wait for it: the one cached, even past its maximum age (a fresh
   * one is fetched meanwhile, for the next page); else the one being fetched, if it comes within
   * `pageWaitMs`; undefined otherwise. A page starts no fetch within `failureMemoryMs` of one
   * that failed, so an IdP that does not answer is not asked again for every page (a sign-in,
   * through {@link metadataFor}, still asks).
   */
  cachedFor(issuer: string): Promise<ProviderMetadata | undefined>;
}

interface CachedMetadata {
  readonly metadata: ProviderMetadata;
  readonly fetchedAt: number;
}

/**
 * Discovery per issuer, cached. The issuer is exact (OIDC Discovery §4.3: the document's
 * `issuer` must be identical to the one it was fetched for), so the issuer alone keys the cache:
 * two tenants registering the same issuer share one document, and no tenant can reach another's.
 * Failures are not cached; concurrent misses share one request. The documents are held within
 * the budget, least recently used first out, with what they have served.
 */
export function createDiscovery(settings: DiscoverySettings): Discovery {
  const cache = new Map<string, CachedMetadata>();
  const budgetKey = (issuer: string) => `discovery ${issuer}`;
  const inFlight = new Map<
    string,
    {
      readonly done: Promise<OidcOutcome<ProviderMetadata>>;
      readonly registration: IdpRegistrationVersion | undefined;
    }
  >();
  /** The registration versions each issuer's cached document was fetched for. */
  const served = new Map<string, RegistrationsServed>();
  const servedFor = (issuer: string): RegistrationsServed => {
    let registrations = served.get(issuer);
    if (registrations === undefined) {
      registrations = new RegistrationsServed();
      served.set(issuer, registrations);
    }
    return registrations;
  };
  /**
   * When the last fetch of each issuer failed, while it is the last one, oldest first; dropped
   * once past `failureMemoryMs`, when it no longer counts, so that issuers that fail do not
   * pile up either.
   */
  const failedAt = new Map<string, number>();
  const rememberFailure = (issuer: string) => {
    const now = settings.clock();
    failedAt.delete(issuer);
    failedAt.set(issuer, now);
    for (const [oldest, at] of failedAt) {
      if (within(now, at, settings.failureMemoryMs)) break;
      failedAt.delete(oldest);
    }
  };

  async function load(
    issuer: string,
    registration: IdpRegistrationVersion | undefined,
  ): Promise<OidcOutcome<ProviderMetadata>> {
    const issuerProblem = urlProblem(issuer, settings.allowHttp, { forIssuer: true });
    if (issuerProblem !== undefined) {
      return reject("oidc.discovery_failed", `registered issuer ${issuerProblem}`);
    }
    // OIDC Discovery §4: remove a trailing "/" from the issuer before appending the path.
    const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const answer = await fetchJson(settings.fetch, url, { method: "GET" }, settings.timeoutMs);
    if (!answer.ok) return reject("oidc.discovery_failed", `discovery ${answer.reason}`);
    if (answer.status !== 200) {
      return reject("oidc.discovery_failed", `discovery answered ${answer.status}`);
    }
    const checked = readMetadata(answer.body, issuer, settings.allowHttp);
    if (checked.ok) {
      cache.set(issuer, { metadata: checked.value, fetchedAt: settings.clock() });
      servedFor(issuer).add(registration);
      settings.budget.hold(budgetKey(issuer), entryBytes(issuer, answer.bytes), () => {
        cache.delete(issuer);
        served.delete(issuer);
      });
    }
    return checked;
  }

  function metadataFor(
    issuer: string,
    registration?: IdpRegistrationVersion,
  ): Promise<OidcOutcome<ProviderMetadata>> {
    const cached = cache.get(issuer);
    if (cached !== undefined) settings.budget.touch(budgetKey(issuer));
    if (
      cached !== undefined &&
      within(settings.clock(), cached.fetchedAt, settings.maxAgeMs) &&
      servedFor(issuer).serves(registration)
    ) {
      return Promise.resolve(accept(cached.metadata));
    }
    const pending = inFlight.get(issuer);
    if (pending !== undefined) {
      // One started before this registration version was met may predate what made it.
      return fetchServes(pending.registration, registration)
        ? pending.done
        : pending.done.then(() => metadataFor(issuer, registration));
    }
    const loading = load(issuer, registration)
      .then((outcome) => {
        if (outcome.ok) failedAt.delete(issuer);
        else rememberFailure(issuer);
        return outcome;
      })
      .finally(() => inFlight.delete(issuer));
    inFlight.set(issuer, { done: loading, registration });
    return loading;
  }

  return {
    metadataFor,
    async cachedFor(issuer) {
      const cached = cache.get(issuer);
      const failed = failedAt.get(issuer);
      const asking =
        inFlight.has(issuer) ||
        failed === undefined ||
        !within(settings.clock(), failed, settings.failureMemoryMs);
      if (cached !== undefined) {
        settings.budget.touch(budgetKey(issuer));
        // Past its age, refreshed for the next page (or a sign-in), never waited for.
        if (asking) void metadataFor(issuer);
        return cached.metadata;
      }
      if (!asking) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => {
          resolve(undefined);
        }, settings.pageWaitMs);
      });
      try {
        const outcome = await Promise.race([metadataFor(issuer), waited]);
        return outcome?.ok === true ? outcome.value : undefined;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function readMetadata(
  body: unknown,
  issuer: string,
  allowHttp: boolean,
): OidcOutcome<ProviderMetadata> {
  if (!isPlainObject(body))
    return reject("oidc.discovery_failed", "discovery is not a JSON object");
  if (body.issuer !== issuer) {
    return reject(
      "oidc.discovery_failed",
      `discovery names issuer ${describeUntrusted(body.issuer, 200)}, not the registered one`,
    );
  }
  const endpoints: string[] = [];
  for (const name of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    const value = body[name];
    if (typeof value !== "string")
      return reject("oidc.discovery_failed", `discovery lacks ${name}`);
    const problem = urlProblem(value, allowHttp);
    if (problem !== undefined)
      return reject("oidc.discovery_failed", `discovery ${name} ${problem}`);
    endpoints.push(value);
  }
  const [authorizationEndpoint = "", tokenEndpoint = "", jwksUri = ""] = endpoints;
  const methods = body.token_endpoint_auth_methods_supported;
  return accept({
    issuer,
    authorizationEndpoint,
    tokenEndpoint,
    jwksUri,
    tokenEndpointAuthMethods: Array.isArray(methods)
      ? methods.filter((m): m is string => typeof m === "string")
      : ["client_secret_basic"],
    issParameterSupported: body.authorization_response_iss_parameter_supported === true,
    claimsParameterSupported: body.claims_parameter_supported === true,
  });
}

/**
 * Why a URL may not be used for an IdP, or undefined when it may: https only (http when the
 * operator enabled it, for loopback test IdPs), no credentials, no fragment; an issuer also no
 * query (OIDC Discovery §3).
 */
function urlProblem(
  value: string,
  allowHttp: boolean,
  { forIssuer = false }: { forIssuer?: boolean } = {},
): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:" && !(allowHttp && url.protocol === "http:")) {
    return allowHttp ? "must use https or http" : "must use https";
  }
  if (url.username !== "" || url.password !== "") return "must not carry credentials";
  if (value.includes("#")) return "must not carry a fragment";
  if (forIssuer && value.includes("?")) return "must not carry a query";
  return undefined;
}
