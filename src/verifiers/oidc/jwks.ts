import type { JWK } from "jose";
import type { IdpRegistrationVersion } from "../../app/federation/protocols.js";
import { entryBytes, type CacheBudget } from "./cache-budget.js";
import { fetchJson, type FetchLike } from "./fetch-json.js";
import { KeySetFetches, MAX_ISSUERS_COOLING_DOWN } from "./key-set-fetches.js";
import { fetchServes, RegistrationsServed } from "./registrations-served.js";
import { accept, isPlainObject, reject, type OidcOutcome } from "./rejection.js";
import { keyFitsAlgorithm } from "./signing-algorithms.js";
import { within } from "./within.js";

export interface JwksSettings {
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
  /** How long a fetched key set serves before it is fetched again: bounds how long a removed key verifies. */
  readonly maxAgeMs: number;
  /**
   * The least time between a fetch of one issuer's key set and a refetch for a `kid` it did not
   * hold, whether or not the set stayed cached meanwhile.
   */
  readonly cooldownMs: number;
  /**
   * The least time between two fetches of an issuer's key set that is not cached (pushed out, or
   * never fetched): such a fetch waits out the rest. Default {@link COLD_FETCH_SPACING_MS}.
   */
  readonly coldFetchSpacingMs?: number;
  /** How many issuers' last fetches are kept at most. Default {@link MAX_ISSUERS_COOLING_DOWN}. */
  readonly maxIssuersCoolingDown?: number;
  readonly clock: () => number;
  /** What the cached key sets may hold, shared with the discovery documents. */
  readonly budget: CacheBudget;
}

/**
 * The most published keys one token is verified with. A token names its key (`kid`) among an
 * IdP's many; without it, every key of its algorithm would be tried, each a signature
 * verification on the thread pool all requests share, and 256 KiB of JWKS holds a thousand.
 */
export const MAX_KEYS_PER_TOKEN = 10;

/**
 * The least time between two fetches of one issuer's key set when it is not cached (pushed out
 * of the byte budget, or never fetched): a sign-in that needs it sooner waits out the rest, and
 * sign-ins meanwhile share that one fetch. Another tenant's administrator signing in through
 * many large issuers can push an issuer out of the cache as often as it likes; it then costs the
 * issuer's IdP at most about one fetch a second and its users at most about a second's wait,
 * never a refusal.
 */
export const COLD_FETCH_SPACING_MS = 1_000;

/** What the ID token header asks for. */
export interface KeyRequest {
  readonly alg: string;
  readonly kid?: string;
}

export interface KeySets {
  /**
   * The issuer's published keys that may verify this signature; at least one, or a rejection.
   * `registration`: the tenant's registration they verify for, whose new version is served a set
   * fetched after it was met.
   */
  keysFor(
    issuer: string,
    jwksUri: string,
    request: KeyRequest,
    registration?: IdpRegistrationVersion,
  ): Promise<OidcOutcome<readonly JWK[]>>;
}

interface IssuerKeys {
  keys: readonly JWK[] | undefined;
  /** The length of the JWKS document `keys` were read from. */
  bytes: number;
  jwksUri: string | undefined;
  fetchedAt: number | undefined;
  /**
   * When the issuer's last fetch started, through this entry or, for an entry made after the
   * issuer was pushed out, as {@link KeySetFetches} remembered it.
   */
  lastFetchAt: number | undefined;
  /** Whether the last fetch through this entry failed: held off until the cooldown is over. */
  lastFetchFailed: boolean;
  /** The registration versions the keys were fetched for (the last fetch's, kept with it). */
  readonly served: RegistrationsServed;
  inFlight: Fetch | undefined;
}

/** A fetch under way, and what it was started for. */
interface Fetch {
  readonly done: Promise<boolean>;
  readonly jwksUri: string;
  readonly registration: IdpRegistrationVersion | undefined;
}

/**
 * The IdPs' key sets, cached per issuer (issuers are exact, so the issuer alone keys the cache).
 * A key id the cache does not know triggers one refetch, at most once per cooldown, so a flood of
 * tokens with invented `kid`s costs the IdP one request per cooldown and this server nothing more.
 * A key set that cannot be fetched fails closed: no stale keys beyond their maximum age, and
 * no new request before the cooldown while the failure is cached.
 * Each issuer's set is held within the budget, the least recently used issuer first out, and is
 * fetched again at its next use; its last fetch is kept apart ({@link KeySetFetches}), so that
 * pushing it out neither ends the cooldown (a flood of invented `kid`s buys no fetch per
 * eviction) nor has it fetched again sooner than {@link COLD_FETCH_SPACING_MS} after that fetch.
 * A failure holds off the next fetch only while its entry is cached: an issuer pushed out is
 * fetched at its next sign-in, never refused for a cooldown.
 */
export function createKeySets(settings: JwksSettings): KeySets {
  const issuers = new Map<string, IssuerKeys>();
  const spacingMs = settings.coldFetchSpacingMs ?? COLD_FETCH_SPACING_MS;
  const fetches = new KeySetFetches(
    Math.max(settings.cooldownMs, spacingMs),
    settings.maxIssuersCoolingDown ?? MAX_ISSUERS_COOLING_DOWN,
    settings.clock,
  );
  const budgetKey = (issuer: string) => `jwks ${issuer}`;

  /** Counts what `state` holds now, unless it was evicted meanwhile (a fetch that outlived it). */
  function hold(issuer: string, state: IssuerKeys): void {
    if (issuers.get(issuer) !== state) return;
    const bytes = entryBytes(issuer, state.keys === undefined ? 0 : state.bytes);
    settings.budget.hold(budgetKey(issuer), bytes, () => {
      if (issuers.get(issuer) === state) issuers.delete(issuer);
    });
  }

  /**
   * How long a fetch of the issuer's key set, not cached, waits for the spacing after its last
   * fetch: at most the spacing, and never longer than a fetch itself may take.
   */
  function coldWaitMs(state: IssuerKeys): number {
    const since = state.lastFetchAt;
    if (since === undefined || !within(settings.clock(), since, spacingMs)) return 0;
    return Math.min(since + spacingMs - settings.clock(), settings.timeoutMs);
  }

  function refresh(
    issuer: string,
    state: IssuerKeys,
    jwksUri: string,
    registration: IdpRegistrationVersion | undefined,
    cold = false,
  ): Promise<boolean> {
    const pending = state.inFlight;
    if (pending !== undefined) {
      // A fetch started before this registration version was met may predate what made it (a
      // key withdrawn, then the IdP registered again): it is waited for, then one made for it.
      return pending.jwksUri === jwksUri && fetchServes(pending.registration, registration)
        ? pending.done
        : pending.done.then(() => refresh(issuer, state, jwksUri, registration));
    }
    const loading = (async () => {
      try {
        if (cold) await pause(coldWaitMs(state));
        fetches.start(issuer, state.served);
        state.lastFetchAt = settings.clock();
        const fetched = await fetchKeys(settings, jwksUri);
        state.lastFetchFailed = fetched === undefined;
        if (fetched !== undefined) {
          state.keys = fetched.keys;
          state.bytes = fetched.bytes;
          state.jwksUri = jwksUri;
          state.fetchedAt = settings.clock();
          state.served.add(registration);
        }
        hold(issuer, state);
        return fetched !== undefined;
      } finally {
        state.inFlight = undefined;
      }
    })();
    state.inFlight = { done: loading, jwksUri, registration };
    return loading;
  }

  /** Whether the issuer's last fetch, cached or remembered, started within the cooldown. */
  function coolingDown(issuer: string, state: IssuerKeys): boolean {
    const since = [state.lastFetchAt, fetches.recent(issuer)?.at];
    return since.some(
      (at) => at !== undefined && within(settings.clock(), at, settings.cooldownMs),
    );
  }

  return {
    async keysFor(issuer, jwksUri, request, registration) {
      let state = issuers.get(issuer);
      const cold = state === undefined;
      if (state === undefined) {
        // Never fetched, or pushed out of the cache: fetched now, never refused for a cooldown,
        // but not sooner than the spacing after its last fetch, which it remembers.
        const last = fetches.recent(issuer);
        state = {
          keys: undefined,
          bytes: 0,
          jwksUri: undefined,
          fetchedAt: undefined,
          lastFetchAt: last?.at,
          lastFetchFailed: false,
          served: last?.served ?? new RegistrationsServed(),
          inFlight: undefined,
        };
        issuers.set(issuer, state);
      } else {
        settings.budget.touch(budgetKey(issuer));
      }
      const usable =
        state.keys !== undefined &&
        state.jwksUri === jwksUri &&
        state.fetchedAt !== undefined &&
        within(settings.clock(), state.fetchedAt, settings.maxAgeMs) &&
        state.served.serves(registration);
      let refetched = false;
      if (!usable) {
        // A key set that just failed is not asked for again before the cooldown while the failure
        // is cached: fail closed, fast.
        if (state.lastFetchFailed && coolingDown(issuer, state) && state.inFlight === undefined) {
          return reject("oidc.jwks_unavailable", "the IdP's JWKS failed moments ago");
        }
        state.keys = undefined;
        if (!(await refresh(issuer, state, jwksUri, registration, cold))) {
          return reject("oidc.jwks_unavailable", "the IdP's JWKS could not be fetched");
        }
        refetched = true;
      }
      let matching = selectKeys(state.keys ?? [], request);
      if (matching.length === 0 && !refetched && !coolingDown(issuer, state)) {
        // The IdP may have rotated its keys since the last fetch (OIDC Core §10.1.1).
        if (!(await refresh(issuer, state, jwksUri, registration))) {
          return reject("oidc.jwks_unavailable", "the IdP's JWKS could not be fetched");
        }
        matching = selectKeys(state.keys ?? [], request);
      }
      if (matching.length === 0) {
        return reject(
          "oidc.key_unknown",
          request.kid === undefined
            ? `the IdP's JWKS has no key for ${request.alg}`
            : `the IdP's JWKS has no ${request.alg} key with the token's kid`,
        );
      }
      if (matching.length > MAX_KEYS_PER_TOKEN) {
        return reject(
          "oidc.key_unknown",
          `the IdP's JWKS has ${String(matching.length)} ${request.alg} keys ${request.kid === undefined ? "and the token names none" : "with the token's kid"}; at most ${String(MAX_KEYS_PER_TOKEN)} are tried`,
        );
      }
      return accept(matching);
    },
  };
}

/** Resolves after `ms` (at once for none): the only wait, a cold fetch's spacing. */
function pause(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

function selectKeys(keys: readonly JWK[], request: KeyRequest): readonly JWK[] {
  return keys.filter(
    (jwk) =>
      (request.kid === undefined || jwk.kid === request.kid) && keyFitsAlgorithm(jwk, request.alg),
  );
}

/**
 * The public signing keys of a JWKS document and the document's length, or undefined when it
 * cannot be had.
 */
async function fetchKeys(
  settings: JwksSettings,
  jwksUri: string,
): Promise<{ readonly keys: readonly JWK[]; readonly bytes: number } | undefined> {
  const answer = await fetchJson(settings.fetch, jwksUri, { method: "GET" }, settings.timeoutMs);
  if (!answer.ok || answer.status !== 200 || !isPlainObject(answer.body)) return undefined;
  const { keys } = answer.body;
  if (!Array.isArray(keys)) return undefined;
  // Keys with private or symmetric material have no place in a published set, nor keys whose
  // members are not of their JWK types (RFC 7517 §4): skip them, and keep the others usable.
  const usable = Object.freeze(
    keys.filter(
      (key): key is JWK =>
        isPlainObject(key) &&
        typeof key.kty === "string" &&
        key.kty !== "oct" &&
        !("d" in key) &&
        optionalString(key.kid) &&
        optionalString(key.use) &&
        optionalString(key.alg) &&
        optionalString(key.crv) &&
        (key.key_ops === undefined ||
          (Array.isArray(key.key_ops) && key.key_ops.every((op) => typeof op === "string"))),
    ),
  );
  return { keys: usable, bytes: answer.bytes };
}

const optionalString = (value: unknown): boolean =>
  value === undefined || typeof value === "string";
