import { createHash } from "node:crypto";
import type { OidcAuthorizationOptions, OidcIdpSettings } from "../../app/federation/protocols.js";
import type { ProviderMetadata } from "./discovery.js";

/** RFC 7636 §4.1: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * The authorization request of the code flow (OIDC Core §3.1.2.1) with PKCE S256 (RFC 7636).
 * When the sign-in needs a particular authentication context it is asked for once, in the
 * strongest form the IdP's discovery document offers: as an essential `acr` claim in the
 * `claims` parameter when it says `claims_parameter_supported`, which the IdP must meet or answer
 * with an error such as `unmet_authentication_requirements` (OIDC Core §5.5.1.1); else as
 * `acr_values`, a voluntary request (OIDC Core §3.1.2.1). Never both: `acr_values` also requests
 * the `acr` claim, and an IdP may let that voluntary request replace the essential one
 * (oidc-provider does, in its `assignClaims`), so an IdP that cannot do MFA would answer with a
 * weaker `acr` instead of the error that sends the user back with `idp_mfa_unavailable`; and an
 * IdP without the `claims` parameter ignores it. Neither form proves anything: the ID token's
 * `acr` is checked by the use case, which is what the REFEDS MFA profile requires of a relying
 * party.
 *
 * @throws RangeError for a code verifier or `max_age` that is not well-formed: those are the
 * caller's bugs, not untrusted input.
 */
export function buildAuthorizationUrl(
  metadata: ProviderMetadata,
  idp: OidcIdpSettings,
  options: OidcAuthorizationOptions,
): string {
  if (!CODE_VERIFIER.test(options.codeVerifier)) {
    throw new RangeError("codeVerifier must be 43-128 unreserved characters (RFC 7636 §4.1)");
  }
  const { maxAgeSeconds } = options;
  if (maxAgeSeconds !== undefined && !(Number.isSafeInteger(maxAgeSeconds) && maxAgeSeconds >= 0)) {
    throw new RangeError("maxAgeSeconds must be a non-negative integer");
  }

  const url = new URL(metadata.authorizationEndpoint);
  const query = url.searchParams;
  query.set("response_type", "code");
  query.set("client_id", idp.clientId);
  query.set("redirect_uri", options.redirectUri);
  query.set("scope", [...new Set(["openid", ...idp.scopes])].join(" "));
  query.set("state", options.state);
  query.set("nonce", options.nonce);
  query.set(
    "code_challenge",
    createHash("sha256").update(options.codeVerifier).digest("base64url"),
  );
  query.set("code_challenge_method", "S256");
  if (options.acrValues.length > 0) {
    if (metadata.claimsParameterSupported) {
      query.set(
        "claims",
        JSON.stringify({ id_token: { acr: { essential: true, values: [...options.acrValues] } } }),
      );
    } else {
      query.set("acr_values", options.acrValues.join(" "));
    }
  }
  // max_age=0 is meaningful (OIDC Core §3.1.2.1: authenticate now), so only undefined omits it.
  if (maxAgeSeconds !== undefined) query.set("max_age", String(maxAgeSeconds));
  if (options.forceLogin) query.set("prompt", "login");
  if (options.loginHint !== undefined) query.set("login_hint", options.loginHint);
  return url.toString();
}
