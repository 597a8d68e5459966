/**
 * Why an assurance token was refused, one stable code each (a closed union, as `jose` has its
 * `ERR_JWT_*`). Each code names the check that failed, so that a platform can log and count
 * refusals without parsing messages.
 */
export const ASSURANCE_TOKEN_ERRORS = {
  "token.missing": "No assurance token was presented.",
  "token.malformed": "The assurance token is not a well-formed signed JWT.",
  "token.invalid":
    "The assurance token's signature does not verify with a published key and an allowed algorithm.",
  "token.wrong_type": "The token is not a tenant-mfa assurance token (its `typ` header differs).",
  "token.expired": "The assurance token has expired.",
  "token.not_yet_valid":
    "The assurance token is not valid yet (`nbf`, `iat` or `auth_time` lies ahead).",
  "token.wrong_issuer": "The assurance token was issued by another issuer.",
  "token.wrong_audience": "The assurance token was issued for another audience.",
  "token.wrong_tenant": "The assurance token was issued for another tenant.",
  "token.wrong_subject": "The assurance token was issued for another principal.",
  "token.invalid_claims": "The assurance token lacks a required claim, or one has the wrong type.",
  "token.keys_unavailable":
    "The keys that verify assurance tokens could not be fetched; no token can be accepted now.",
} as const;

/** A stable code saying why an assurance token was refused. */
export type AssuranceTokenErrorCode = keyof typeof ASSURANCE_TOKEN_ERRORS;

/** An assurance token refused by {@link verifyAssuranceToken}, with a stable `code`. */
export class AssuranceTokenError extends Error {
  readonly code: AssuranceTokenErrorCode;
  constructor(code: AssuranceTokenErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ASSURANCE_TOKEN_ERRORS[code], options);
    this.name = "AssuranceTokenError";
    this.code = code;
  }
}
