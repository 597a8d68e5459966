import type { ErrorCode } from "../app/errors.js";

/**
 * The HTTP status of every application error code: the one place where codes meet statuses.
 * `satisfies` makes a new code in `src/app/errors.ts` a compile error here until it is mapped.
 */
export const ERROR_STATUSES = {
  "auth.missing_credentials": 401,
  "auth.invalid_credentials": 401,
  "auth.forbidden": 403,
  "request.invalid": 400,
  "evidence.unverified": 422,
  "evidence.withdrawn": 422,
  not_found: 404,
  "tenant.exists": 409,
  "tenant.settings_conflict": 412,
  "policy.precondition_required": 428,
  "policy.version_conflict": 412,
  "policy.invalid": 422,
  "mandate.invalid": 422,
  "mandate.retired": 409,
  "mandate.exists": 409,
  "bootstrap.exists": 409,
  "mandate.precondition_required": 428,
  "mandate.version_conflict": 412,
  "exemption.shared_login_refused": 422,
  "exemption.expiry_required": 422,
  "exemption.too_long": 422,
  "exemption.renewal_limit": 422,
  "exemption.tenant_limit": 422,
  "exemption.starts_too_late": 422,
  "exemption.expired": 409,
  "exemption.self_approval": 403,
  "exemption.requester_revoked": 409,
  "exemption.invalid_state": 409,
  "principal.unknown": 422,
  "principal.population_locked": 409,
  "principal.shared_login_locked": 409,
  "idp.invalid": 422,
  "idp.precondition_required": 428,
  "idp.version_conflict": 412,
  "idp.metadata_expired": 422,
  "federation.not_configured": 503,
  "federation.return_to_not_allowed": 400,
  "federation.request_unknown": 400,
  "federation.rejected": 400,
  "federation.subject_mismatch": 403,
  "federation.browser_mismatch": 403,
  "federation.answer_unknown": 400,
  "authenticator.not_configured": 503,
  "authenticator.invalid": 422,
  "authenticator.invalid_state": 409,
  "authenticator.throttled": 429,
  "authenticator.locked": 423,
  "authenticator.fresh_mfa_required": 403,
  "authenticator.enrolment_expired": 409,
  "authenticator.last_method": 409,
  "totp.malformed_code": 400,
  "totp.wrong_code": 422,
  "totp.replayed": 422,
  "totp.locked": 423,
  "assurance.not_configured": 503,
  "assurance.not_allowed": 409,
  "flow.return_to_not_allowed": 400,
  "flow.audience_not_allowed": 403,
  "audit.checkpoint_invalid": 400,
  "flow.code_invalid": 400,
  "flow.unusable": 403,
  "flow.enrolment_not_allowed": 403,
  "secret.unavailable": 503,
  "secret.reseal_incomplete": 503,
  "signing_key.opens": 409,
  "signing_key.published_changed": 409,
  "receipt.tampered": 500,
  "audit.chain_damaged": 500,
  "recovery_code.not_configured": 503,
  "recovery_code.malformed_code": 400,
  "recovery_code.wrong_code": 422,
  "recovery_code.used": 422,
  "recovery_code.locked": 423,
  "webauthn.not_configured": 409,
  "webauthn.settings_conflict": 412,
  "webauthn.settings_invalid": 422,
  "webauthn.challenge_unknown": 400,
  "webauthn.challenge_expired": 400,
  "webauthn.malformed_response": 400,
  "webauthn.wrong_type": 400,
  "webauthn.challenge_mismatch": 400,
  "webauthn.origin_not_allowed": 400,
  "webauthn.cross_origin": 400,
  "webauthn.rp_id_mismatch": 400,
  "webauthn.user_not_present": 422,
  "webauthn.user_not_verified": 422,
  "webauthn.backup_flags_invalid": 422,
  "webauthn.backup_eligibility_changed": 422,
  "webauthn.bad_signature": 422,
  "webauthn.algorithm_not_allowed": 422,
  "webauthn.aaguid_not_allowed": 422,
  "webauthn.attestation_rejected": 422,
  "webauthn.attestation_untrusted": 422,
  "webauthn.credential_unknown": 422,
  "webauthn.credential_exists": 409,
  "webauthn.no_credentials": 422,
  "webauthn.clone_detected": 422,
  "webauthn.concurrent_use": 409,
  "webauthn.locked": 423,
  "webauthn.unavailable": 503,
  "store.record_damaged": 500,
  "store.unavailable": 503,
} as const satisfies Record<ErrorCode, number>;

/**
 * Codes that only the HTTP layer reports: the request never reached a use case. Each has its
 * status and a title for people.
 */
export const HTTP_PROBLEMS = {
  "request.too_large": { status: 413, title: "The request body is larger than allowed." },
  "request.headers_too_large": {
    status: 431,
    title: "The request's header fields are larger than allowed.",
  },
  "request.timeout": { status: 408, title: "The request took too long to arrive." },
  "request.expectation_failed": {
    status: 417,
    title: "The server meets no `Expect` but `100-continue`.",
  },
  "request.unsupported_media_type": {
    status: 415,
    title:
      "Send the request body in a media type the route accepts: `application/json` (UTF-8) for the API, `application/x-www-form-urlencoded` for the SAML ACS and the hosted flows' forms.",
  },
  "request.not_acceptable": {
    status: 406,
    title: "The resource cannot be represented in a media type that you accept.",
  },
  "request.not_a_navigation": {
    status: 400,
    title:
      "Open this address as a page of its own, not in a frame, an embedded object or an image, nor by a script's fetch.",
  },
  "route.not_found": { status: 404, title: "There is no such route." },
  "method.not_allowed": { status: 405, title: "The route does not support this method." },
  "auth.rate_limited": {
    status: 429,
    title: "Too many failed authentication attempts; wait before retrying.",
  },
  "request.rate_limited": {
    status: 429,
    title: "Too many requests from this client address; wait before retrying.",
  },
  "flow.csrf": {
    status: 403,
    title:
      "The request did not come from this flow's page: send the page's CSRF token (`x-csrf-token`) from its origin.",
  },
  "metrics.unauthorized": {
    status: 401,
    title: "Send the metrics token (`metrics.token`) as `Authorization: Bearer <token>`.",
  },
  internal: { status: 500, title: "An internal error occurred." },
} as const satisfies Record<string, { status: number; title: string }>;

/** A code that only the HTTP layer reports. */
export type HttpProblemCode = keyof typeof HTTP_PROBLEMS;

/** Every code a problem response can carry. */
export type ProblemCode = ErrorCode | HttpProblemCode;
