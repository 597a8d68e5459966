/**
 * The ports through which the federation use cases speak SAML 2.0 and OpenID Connect. The
 * verifiers in `src/verifiers/saml` and `src/verifiers/oidc` implement them; the composition root
 * wires them in. A verifier turns untrusted input into a verified assertion or a typed rejection,
 * and never throws for bad input: every way a response can be wrong has a stable code.
 *
 * One-time use (assertion ids, nonces, flow codes) and the remembered requests are the use
 * cases' business, kept in the shared store so that they hold across server instances: a
 * verifier reports what it verified, the use case checks it was not seen before.
 *
 * @module
 */

/** The service provider's own identity for one registered IdP. */
export interface SamlServiceProviderIdentity {
  /** The SP entity id: the metadata URL, unique per tenant and IdP. */
  readonly entityId: string;
  /** The Assertion Consumer Service URL (HTTP-POST binding): also the expected `Destination` and `Recipient`. */
  readonly acsUrl: string;
}

/** A SAML IdP as registered by the tenant administrator. */
export interface SamlIdpSettings {
  readonly entityId: string;
  /** The IdP's SingleSignOnService URL for the HTTP-Redirect binding. */
  readonly ssoUrl: string;
  /** The IdP's signing certificates (PEM or bare base64 DER). Only these verify; `KeyInfo` is ignored. */
  readonly signingCertificates: readonly string[];
  /** Accept IdP-initiated (unsolicited) responses. Off by default (SP 800-63C-4 FAL2). */
  readonly allowUnsolicited: boolean;
  /** Where the subject is read from: the NameID, or this attribute, released with one value only. */
  readonly subjectAttribute?: string;
  /**
   * The NameID Format to ask for (a full URI), sent as the AuthnRequest's `NameIDPolicy Format`
   * and declared as the SP metadata's `NameIDFormat`; absent: none is asked, and the IdP sends the
   * one it is configured to send. When one other than `…:1.1:nameid-format:unspecified` is asked
   * and the NameID is the subject, an answer whose NameID has another Format is refused
   * (`saml.name_id_format_mismatch`).
   */
  readonly nameIdFormat?: string;
  /**
   * When the metadata these settings were read from expires (its `validUntil`, ISO 8601 UTC);
   * absent when none was given or it stated none. From then on nothing its keys sign is relied
   * on, and no sign-in starts (SAML Metadata §2.3.1, §2.3.2), until current metadata replaces it.
   */
  readonly metadataValidUntil?: string;
}

/** What the IdP metadata XML told us, once parsed. */
export interface ParsedSamlIdpMetadata {
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly signingCertificates: readonly string[];
  /**
   * When the metadata expires (ISO 8601 UTC): the earliest `validUntil` of the IDPSSODescriptor
   * read, its EntityDescriptor and any enclosing element (SAML Metadata §2.3.1, §2.3.2, §2.4.1);
   * absent when none says.
   * The use case compares it with its clock: the parser reads no time.
   */
  readonly validUntil?: string;
}

/** What to put in an AuthnRequest. */
export interface SamlAuthnRequestOptions {
  /** The request id, remembered server-side and checked against `InResponseTo`. */
  readonly requestId: string;
  /** `AuthnContextClassRef` values for `RequestedAuthnContext Comparison="exact"`; none: no context requested. */
  readonly authnContextClassRefs: readonly string[];
  /** Ask the IdP to authenticate the user again, whatever its session. */
  readonly forceAuthn: boolean;
  /** Opaque value the IdP returns unchanged: our flow id, never a URL. */
  readonly relayState: string;
  readonly issueInstant: Date;
}

/**
 * A SAML response that passed every check, read only from the signed bytes. Every value but
 * `attributes` (which nothing records) can be recorded as given: see `RECORDED_VALUE_LIMITS`.
 */
export interface VerifiedSamlAssertion {
  readonly issuer: string;
  /** The assertion's `ID`: one-time use is keyed by (issuer, id) until `expiresAt`. */
  readonly assertionId: string;
  /** The latest `NotOnOrAfter` bounding the assertion's use (conditions or subject confirmation). */
  readonly expiresAt: Date;
  /** Absent for an unsolicited response. */
  readonly inResponseTo?: string;
  /** Who signed in: the NameID, or the configured attribute's value. */
  readonly subject: string;
  readonly nameIdFormat?: string;
  readonly sessionIndex?: string;
  /** `AuthnStatement/@AuthnInstant`. */
  readonly authnInstant: Date;
  /** Every `AuthnContextClassRef` of the assertion's `AuthnStatement`s, verbatim. */
  readonly authnContextClassRefs: readonly string[];
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/** Expectations a response is checked against. */
export interface SamlVerificationOptions {
  /** The base64 `SAMLResponse` form value, as posted. */
  readonly samlResponse: string;
  /** The remembered request's id, when the response arrives for a flow we started. */
  readonly expectedRequestId?: string;
  readonly now: Date;
  readonly clockSkewSeconds: number;
}

/** Stable codes for a refused SAML response; each is audited. */
export const SAML_REJECTIONS = {
  "saml.malformed": "The SAML response is not a well-formed SAML 2.0 Response.",
  "saml.too_large": "The SAML response exceeds the size or nesting limit.",
  "saml.doctype_forbidden":
    "The SAML response contains a DOCTYPE; entity declarations are refused.",
  "saml.signature_missing": "Neither the response nor the assertion is signed.",
  "saml.signature_invalid": "The signature does not verify with the IdP's registered certificates.",
  "saml.signature_algorithm": "The signature uses an algorithm that is not allowed.",
  "saml.signature_wrapping": "The signed content is not the content being consumed.",
  "saml.assertion_count": "The response must contain exactly one assertion.",
  "saml.encrypted_assertion_unsupported": "Encrypted assertions are not supported.",
  "saml.issuer_mismatch": "The response was not issued by the registered IdP.",
  "saml.destination_mismatch": "The response was sent to another endpoint.",
  "saml.recipient_mismatch": "The subject confirmation names another recipient.",
  "saml.audience_mismatch": "The assertion is not meant for this service provider.",
  "saml.in_response_to_mismatch": "The response does not answer the request this sign-in made.",
  "saml.unsolicited": "Unsolicited (IdP-initiated) responses are not accepted from this IdP.",
  "saml.condition_unknown":
    "The assertion carries a condition this service provider does not understand, so it cannot be relied on.",
  "saml.not_yet_valid": "The assertion is not valid yet.",
  "saml.expired": "The assertion has expired.",
  "saml.subject_confirmation": "The assertion has no valid bearer subject confirmation.",
  "saml.subject_missing": "The assertion does not name a subject.",
  "saml.subject_format":
    "The subject is read from a NameID whose Format names no lasting user (transient, encrypted or entity).",
  "saml.name_id_format_mismatch":
    "The subject is read from a NameID whose Format is not the one the registration asks the IdP for.",
  "saml.name_qualifier_mismatch":
    "The subject is read from a NameID qualified by another name than the IdP's entity id (NameQualifier).",
  "saml.sp_name_qualifier_mismatch":
    "The subject is read from a NameID qualified for another service provider (SPNameQualifier).",
  "saml.value_unusable":
    "The assertion carries a value this service cannot record: U+0000, a lone UTF-16 surrogate, or longer than its limit.",
  "saml.authn_statement_missing": "The assertion has no authentication statement.",
  "saml.comment_in_value": "A comment or processing instruction splits a signed value.",
  "saml.status": "The IdP answered with an error status.",
  "saml.no_authn_context":
    "The IdP could not authenticate with the requested context (NoAuthnContext).",
  "saml.metadata_invalid": "The IdP metadata could not be read.",
  "saml.metadata_expired":
    "The IdP metadata the registration was made from has expired: its keys are no longer relied on.",
} as const;
export type SamlRejectionCode = keyof typeof SAML_REJECTIONS;

/** A refused SAML response or metadata document. */
export interface SamlRejection {
  readonly code: SamlRejectionCode;
  /** What was wrong, for the audit log and the operator; never contains the response. */
  readonly detail: string;
  /** For `saml.status` and `saml.no_authn_context`: the IdP's status codes, top level first. */
  readonly statusCodes?: readonly string[];
  /**
   * For `saml.status` and `saml.no_authn_context`: whether the IdP's signature covers the status
   * (the Response was signed and verified). An unsigned status is anyone's word (checklist S7).
   */
  readonly statusSigned?: boolean;
}

/** The outcome of a verification: the verified value or a typed rejection. */
export type Verified<T, R> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rejection: R };

/** SAML 2.0 Web Browser SSO profile, service-provider side. */
export interface SamlProtocol {
  /** The SP metadata document for one IdP registration (its `nameIdFormat`, if any, declared). */
  metadata(sp: SamlServiceProviderIdentity, idp: SamlIdpSettings): string;
  parseIdpMetadata(xml: string): Verified<ParsedSamlIdpMetadata, SamlRejection>;
  /** The IdP URL (HTTP-Redirect binding) carrying the deflated, encoded AuthnRequest. */
  authnRequestUrl(
    sp: SamlServiceProviderIdentity,
    idp: SamlIdpSettings,
    options: SamlAuthnRequestOptions,
  ): string;
  verifyResponse(
    sp: SamlServiceProviderIdentity,
    idp: SamlIdpSettings,
    options: SamlVerificationOptions,
  ): Promise<Verified<VerifiedSamlAssertion, SamlRejection>>;
}

/** An OpenID Connect provider as registered by the tenant administrator. */
export interface OidcIdpSettings {
  /** The issuer, exactly: discovery is read from `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly clientId: string;
  /** Decrypted only for the token request; encrypted at rest. */
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  /** ID token signature algorithms accepted; never taken from the token header. */
  readonly idTokenAlgorithms: readonly string[];
  /** Which claim names the subject (`sub` by default). */
  readonly subjectClaim: string;
  /**
   * The tenant's registration these settings come from, at its version: the issuer's discovery
   * document and key set, cached per process, are fetched again for a version the cache has not
   * served yet (a tenant registers again to stop trusting what its IdP published before: a
   * leaked key, a moved endpoint). Absent: only the caches' ages bound them.
   */
  readonly registration?: IdpRegistrationVersion;
}

/** One version of one tenant's IdP registration, as the OIDC caches tell them apart. */
export interface IdpRegistrationVersion {
  /** Unique across tenants (the tenant and the IdP id). */
  readonly id: string;
  readonly version: number;
}

/** What to put in an authorization request. */
export interface OidcAuthorizationOptions {
  readonly redirectUri: string;
  /** Opaque value returned unchanged: our flow id. */
  readonly state: string;
  readonly nonce: string;
  /** The PKCE verifier; the request carries its S256 challenge. */
  readonly codeVerifier: string;
  /**
   * Requested as an essential `acr` claim where the IdP supports the `claims` parameter, else as
   * `acr_values`; none: nothing requested.
   */
  readonly acrValues: readonly string[];
  readonly maxAgeSeconds?: number;
  /** `prompt=login`: authenticate again, whatever the IdP session. */
  readonly forceLogin: boolean;
  readonly loginHint?: string;
}

/**
 * An ID token that passed every check. The subject, `sub`, `acr` and each `amr` value can be
 * recorded as given: see `RECORDED_VALUE_LIMITS`.
 */
export interface VerifiedIdToken {
  readonly issuer: string;
  /** The subject as named by `subjectClaim`. */
  readonly subject: string;
  /** `auth_time`; required whenever `max_age` was sent. */
  readonly authTime?: Date;
  readonly acr?: string;
  readonly amr?: readonly string[];
  /** The nonce, checked against the remembered one; the use case records its one-time use. */
  readonly nonce: string;
  readonly expiresAt: Date;
  /** The claims kept verbatim for the receipt: iss, sub, aud, acr, amr, auth_time, iat, exp. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Expectations a callback is checked against. */
export interface OidcCallbackOptions {
  /** The callback URL exactly as requested, with its query string. */
  readonly callbackUrl: string;
  readonly redirectUri: string;
  readonly expectedState: string;
  readonly expectedNonce: string;
  readonly codeVerifier: string;
  /** The `max_age` sent, if any: `auth_time` must then be present and recent enough. */
  readonly maxAgeSeconds?: number;
  readonly now: Date;
  readonly clockSkewSeconds: number;
}

/** Stable codes for a refused OIDC callback; each is audited. */
export const OIDC_REJECTIONS = {
  "oidc.discovery_failed":
    "The IdP's discovery document could not be read or does not match its issuer.",
  "oidc.error_response": "The IdP answered with an error.",
  "oidc.unmet_authentication_requirements": "The IdP could not authenticate as requested.",
  "oidc.state_mismatch": "The callback does not belong to this sign-in.",
  "oidc.code_missing": "The callback carries no authorization code.",
  "oidc.token_request_failed": "The IdP refused to exchange the authorization code.",
  "oidc.id_token_missing": "The token response carries no ID token.",
  "oidc.id_token_malformed": "The ID token is not a well-formed signed JWT.",
  "oidc.algorithm_not_allowed": "The ID token is signed with an algorithm that is not allowed.",
  "oidc.header_forbidden": "The ID token header carries keys or key URLs, which are refused.",
  "oidc.key_unknown": "No key of the IdP's JWKS verifies the ID token.",
  "oidc.jwks_unavailable": "The IdP's JWKS could not be fetched.",
  "oidc.signature_invalid": "The ID token signature is invalid.",
  "oidc.issuer_mismatch": "The ID token was not issued by the registered IdP.",
  "oidc.audience_mismatch": "The ID token is not meant for this client.",
  "oidc.azp_mismatch": "The ID token's authorized party is not this client.",
  "oidc.nonce_mismatch": "The ID token does not answer this sign-in's nonce.",
  "oidc.expired": "The ID token has expired.",
  "oidc.not_yet_valid": "The ID token is not valid yet.",
  "oidc.issued_at_invalid": "The ID token's issue time is outside the accepted window.",
  "oidc.auth_time_missing": "The ID token lacks auth_time although max_age was requested.",
  "oidc.auth_time_stale": "The IdP authentication is older than the requested max_age.",
  "oidc.token_type": "The token is not an ID token.",
  "oidc.claims_invalid": "The ID token's claims are malformed.",
  "oidc.subject_missing": "The ID token does not name a subject.",
  "oidc.claim_unusable":
    "The ID token carries a claim value this service cannot record: U+0000, a lone UTF-16 surrogate, or longer than its limit.",
} as const;
export type OidcRejectionCode = keyof typeof OIDC_REJECTIONS;

/** A refused OIDC callback. */
export interface OidcRejection {
  readonly code: OidcRejectionCode;
  /** What was wrong; never contains a token, code or secret. */
  readonly detail: string;
  /** For `oidc.error_response`: the IdP's `error` value. */
  readonly error?: string;
}

/** OpenID Connect authorization code flow with PKCE, relying-party side. */
export interface OidcProtocol {
  /** The IdP's authorization endpoint URL for this sign-in (discovery is cached). */
  authorizationUrl(
    idp: OidcIdpSettings,
    options: OidcAuthorizationOptions,
  ): Promise<Verified<string, OidcRejection>>;
  /**
   * The authorization endpoint the IdP's discovery document names: the origin a sign-in sends
   * the browser to, which may differ from the issuer's, and which a page's Content Security
   * Policy must therefore name. For a page, so never a long wait: the document cached (even past
   * its age), else one that arrives within a short wait; undefined when there is none, and then
   * for a while after discovery failed (no new request to the IdP for each page). A sign-in
   * (`authorizationUrl`) reads discovery anew and fills the cache.
   */
  authorizationEndpoint(issuer: string): Promise<string | undefined>;
  /** Exchanges the code and verifies the ID token. */
  completeCallback(
    idp: OidcIdpSettings,
    options: OidcCallbackOptions,
  ): Promise<Verified<VerifiedIdToken, OidcRejection>>;
}
