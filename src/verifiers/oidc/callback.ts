import type {
  OidcCallbackOptions,
  OidcIdpSettings,
  VerifiedIdToken,
} from "../../app/federation/protocols.js";
import type { Discovery } from "./discovery.js";
import type { FetchLike } from "./fetch-json.js";
import { verifyIdToken } from "./id-token.js";
import type { KeySets } from "./jwks.js";
import { describeUntrusted, reject, type OidcOutcome } from "./rejection.js";
import { allowedAlgorithms } from "./signing-algorithms.js";
import { requestIdToken } from "./token-request.js";

export interface CallbackDependencies {
  readonly fetch: FetchLike;
  readonly tokenTimeoutMs: number;
  readonly discovery: Discovery;
  readonly keySets: KeySets;
  readonly trustedAudiences: readonly string[];
  readonly maxIdTokenAgeSeconds: number;
}

/**
 * The redirect back from the IdP, in the order that keeps each check meaningful: the state
 * first (a response that belongs to no sign-in of ours says nothing, not even its error), then
 * the RFC 9207 `iss` (mix-up: a response from another tenant's IdP), required where discovery
 * promises it, errors included, then the IdP's error, then the code exchange and the ID token.
 *
 * An `error=invalid_request` is not reread as "unmet authentication requirements", although older
 * REFEDS examples answered an unmeetable `acr` with it: that error has many causes, and this
 * callback does not know whether an `acr` was asked for. Both fail the sign-in; the use case sees
 * the IdP's value in `rejection.error`.
 */
export async function completeCallback(
  deps: CallbackDependencies,
  idp: OidcIdpSettings,
  options: OidcCallbackOptions,
): Promise<OidcOutcome<VerifiedIdToken>> {
  checkExpectations(options);
  let params: URLSearchParams;
  try {
    params = new URL(options.callbackUrl).searchParams;
  } catch {
    return reject("oidc.state_mismatch", "the callback URL could not be read");
  }

  const state = single(params, "state");
  if (state === undefined || options.expectedState === "" || state !== options.expectedState) {
    return reject("oidc.state_mismatch", "state is missing, repeated or not this sign-in's");
  }
  const iss = params.getAll("iss");
  if (iss.length > 1 || (iss.length === 1 && iss[0] !== idp.issuer)) {
    return reject("oidc.issuer_mismatch", "the authorization response names another issuer");
  }
  const metadata = await deps.discovery.metadataFor(idp.issuer, idp.registration);
  if (!metadata.ok) return metadata;
  // RFC 9207 §2: an IdP that promises `iss` sends it in error responses too; an error without
  // it may come from another IdP (mix-up) and is not this IdP's word.
  if (metadata.value.issParameterSupported && iss.length === 0) {
    return reject(
      "oidc.issuer_mismatch",
      "the IdP sends iss in its responses and this one has none",
    );
  }

  if (params.has("error")) {
    const error = describeUntrusted(params.get("error"));
    if (error === "unmet_authentication_requirements") {
      return reject(
        "oidc.unmet_authentication_requirements",
        "the IdP could not authenticate as requested",
        error,
      );
    }
    return reject("oidc.error_response", `the IdP answered ${error}`, error);
  }

  const code = single(params, "code");
  if (code === undefined || code === "") {
    return reject("oidc.code_missing", "the callback carries no single authorization code");
  }

  const idToken = await requestIdToken(deps.fetch, deps.tokenTimeoutMs, metadata.value, idp, {
    code,
    redirectUri: options.redirectUri,
    codeVerifier: options.codeVerifier,
  });
  if (!idToken.ok) return idToken;

  return verifyIdToken(
    idToken.value,
    {
      keySets: deps.keySets,
      jwksUri: metadata.value.jwksUri,
      allowedAlgorithms: allowedAlgorithms(idp.idTokenAlgorithms),
      registration: idp.registration,
    },
    {
      issuer: idp.issuer,
      clientId: idp.clientId,
      trustedAudiences: deps.trustedAudiences,
      nonce: options.expectedNonce,
      subjectClaim: idp.subjectClaim,
      ...(options.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: options.maxAgeSeconds }),
      now: options.now,
      clockSkewSeconds: options.clockSkewSeconds,
      maxIdTokenAgeSeconds: deps.maxIdTokenAgeSeconds,
    },
  );
}

/** A parameter given exactly once; repeated ones are treated as absent (RFC 6749 §3.1). */
function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

/** The caller's own expectations must be sane; a bad one is a bug, so it throws. */
function checkExpectations(options: OidcCallbackOptions): void {
  if (Number.isNaN(options.now.getTime())) throw new RangeError("now must be a valid Date");
  if (!(Number.isFinite(options.clockSkewSeconds) && options.clockSkewSeconds >= 0)) {
    throw new RangeError("clockSkewSeconds must be a non-negative number");
  }
  const { maxAgeSeconds } = options;
  if (maxAgeSeconds !== undefined && !(Number.isSafeInteger(maxAgeSeconds) && maxAgeSeconds >= 0)) {
    throw new RangeError("maxAgeSeconds must be a non-negative integer");
  }
}
