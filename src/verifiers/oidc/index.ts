import type { OidcProtocol } from "../../app/federation/protocols.js";
import { buildAuthorizationUrl } from "./authorization-url.js";
import { CacheBudget, DEFAULT_CACHE_MAX_BYTES } from "./cache-budget.js";
import { completeCallback } from "./callback.js";
import { createDiscovery } from "./discovery.js";
import type { FetchLike } from "./fetch-json.js";
import { createKeySets } from "./jwks.js";
import { accept } from "./rejection.js";

export { DEFAULT_CACHE_MAX_BYTES } from "./cache-budget.js";
export type { FetchLike } from "./fetch-json.js";
export {
  anyNetworkFetch,
  publicNetworkFetch,
  type IdpNetworkFetch,
} from "./public-network-fetch.js";

/** How the OIDC relying party reaches IdPs; every field has a production default. */
export interface OidcProtocolOptions {
  /** Default: the global `fetch`. Tests inject one to count or fail requests. */
  readonly fetch?: FetchLike;
  /** Milliseconds since the epoch, for cache ages and the refetch cooldown. Default: `Date.now`. */
  readonly clock?: () => number;
  /** Default 5 000 ms each. */
  readonly discoveryTimeoutMs?: number;
  /**
   * How long a page (`authorizationEndpoint`) waits for a discovery document not cached yet.
   * Default 500 ms.
   */
  readonly pageDiscoveryWaitMs?: number;
  /** How long after a failed discovery pages do not ask the IdP again. Default 60 s. */
  readonly discoveryFailureMemoryMs?: number;
  readonly jwksTimeoutMs?: number;
  readonly tokenTimeoutMs?: number;
  /** How long a discovery document serves. Default 1 h. */
  readonly discoveryMaxAgeMs?: number;
  /**
   * How long a key set serves, and so how long a key the IdP removed still verifies, unless the
   * tenant registers the IdP again (its next sign-in fetches the set anew). Default 10 min.
   */
  readonly jwksMaxAgeMs?: number;
  /**
   * The least time between a fetch of an issuer's key set and a refetch for a `kid` it did not
   * hold, whether or not the set stayed cached meanwhile; also how long a failed fetch holds off
   * the next while it is cached. An issuer pushed out of the cache is fetched again at its next
   * sign-in, never refused, but at most once a second (`COLD_FETCH_SPACING_MS`). Default 30 s.
   */
  readonly jwksCooldownMs?: number;
  /**
   * The most bytes of discovery documents and key sets (their fetched bodies, with some
   * bookkeeping) cached at once, over every issuer; past it the least recently used issuer's are
   * dropped, and fetched again at its next use. Default 32 MiB ({@link DEFAULT_CACHE_MAX_BYTES}).
   */
  readonly cacheMaxBytes?: number;
  /** How old an ID token's `iat` may be when the callback completes. Default 300 s (plus skew). */
  readonly maxIdTokenAgeSeconds?: number;
  /** Audiences besides the client id an ID token may also name. Default: none. */
  readonly trustedAudiences?: readonly string[];
  /**
   * Accept `http://` issuers and endpoints. Off by default: production IdPs are https only. For
   * tests against an IdP on loopback.
   */
  readonly allowHttp?: boolean;
}

/** The relying party, and what its caches hold. */
export interface OidcRelyingParty extends OidcProtocol {
  /** The bytes of discovery documents and key sets cached now: at most `cacheMaxBytes`. */
  cachedBytes(): number;
}

/**
 * The OpenID Connect relying party: authorization code flow with PKCE, and an ID token verified
 * check by check (OIDC Core §3.1.3.7, RFC 8725) with a stable code for each failure. Discovery
 * documents and key sets are cached per issuer, within `cacheMaxBytes`, for the life of the
 * returned object, so make one per process.
 */
export function createOidcProtocol(options: OidcProtocolOptions = {}): OidcRelyingParty {
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const clock = options.clock ?? Date.now;
  const budget = new CacheBudget(options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES);
  const discovery = createDiscovery({
    fetch: fetchImpl,
    timeoutMs: options.discoveryTimeoutMs ?? 5_000,
    maxAgeMs: options.discoveryMaxAgeMs ?? 3_600_000,
    clock,
    allowHttp: options.allowHttp ?? false,
    pageWaitMs: options.pageDiscoveryWaitMs ?? 500,
    failureMemoryMs: options.discoveryFailureMemoryMs ?? 60_000,
    budget,
  });
  const keySets = createKeySets({
    fetch: fetchImpl,
    timeoutMs: options.jwksTimeoutMs ?? 5_000,
    maxAgeMs: options.jwksMaxAgeMs ?? 600_000,
    cooldownMs: options.jwksCooldownMs ?? 30_000,
    clock,
    budget,
  });
  const callbackDependencies = {
    fetch: fetchImpl,
    tokenTimeoutMs: options.tokenTimeoutMs ?? 5_000,
    discovery,
    keySets,
    trustedAudiences: options.trustedAudiences ?? [],
    maxIdTokenAgeSeconds: options.maxIdTokenAgeSeconds ?? 300,
  };

  return {
    async authorizationUrl(idp, authorization) {
      const metadata = await discovery.metadataFor(idp.issuer, idp.registration);
      if (!metadata.ok) return metadata;
      return accept(buildAuthorizationUrl(metadata.value, idp, authorization));
    },
    async authorizationEndpoint(issuer) {
      return (await discovery.cachedFor(issuer))?.authorizationEndpoint;
    },
    completeCallback(idp, callback) {
      return completeCallback(callbackDependencies, idp, callback);
    },
    cachedBytes: () => budget.heldBytes,
  };
}
