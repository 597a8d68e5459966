import type { VerifiedIdToken } from "../../app/federation/protocols.js";
import { accept, reject, type OidcOutcome } from "./rejection.js";

/** What a signed ID token's claims are checked against (OIDC Core §3.1.3.7). */
export interface ClaimExpectations {
  readonly issuer: string;
  readonly clientId: string;
  /** Audiences besides the client that an ID token may also name; none by default. */
  readonly trustedAudiences: readonly string[];
  readonly nonce: string;
  readonly subjectClaim: string;
  readonly maxAgeSeconds?: number;
  readonly now: Date;
  readonly clockSkewSeconds: number;
  /** How old `iat` may be: the token was issued at the token endpoint moments ago. */
  readonly maxIdTokenAgeSeconds: number;
}

/** The claims the receipt keeps, verbatim. */
const KEPT_CLAIMS = ["iss", "sub", "aud", "azp", "acr", "amr", "auth_time", "iat", "exp"] as const;

/**
 * Every claim check, explicit. `jose`'s `jwtVerify` is not used for these: it accepts an `iat`
 * in the future unless `maxTokenAge` is set, and checks neither `azp`, nor `amr`'s type, nor
 * `auth_time` against the `max_age` sent (see jose-gaps.test.ts), and each failure here needs its
 * own stable code.
 */
export function checkIdTokenClaims(
  claims: Readonly<Record<string, unknown>>,
  expected: ClaimExpectations,
): OidcOutcome<VerifiedIdToken> {
  const now = expected.now.getTime() / 1000;
  const skew = expected.clockSkewSeconds;

  // A logout token (OpenID Back-Channel Logout §2.4) is signed by the same keys: refuse it by shape.
  if (Object.hasOwn(claims, "events")) {
    return reject("oidc.token_type", "the token carries events: a logout token, not an ID token");
  }
  if (claims.iss !== expected.issuer) {
    return reject("oidc.issuer_mismatch", "iss is not the registered issuer, exactly");
  }

  const { aud, azp } = claims;
  const audiences = typeof aud === "string" ? [aud] : aud;
  if (!isStringArray(audiences) || audiences.length === 0) {
    return reject("oidc.claims_invalid", "aud is neither a string nor an array of strings");
  }
  if (!audiences.includes(expected.clientId)) {
    return reject("oidc.audience_mismatch", "aud does not name this client");
  }
  if (azp !== undefined && azp !== expected.clientId) {
    return reject("oidc.azp_mismatch", "azp names another client");
  }
  if (audiences.length > 1 && azp !== expected.clientId) {
    return reject("oidc.azp_mismatch", "several audiences and no azp naming this client");
  }
  const others = audiences.filter((a) => a !== expected.clientId);
  if (others.some((a) => !expected.trustedAudiences.includes(a))) {
    return reject("oidc.audience_mismatch", "aud names an audience this client does not trust");
  }

  if (
    typeof claims.nonce !== "string" ||
    expected.nonce === "" ||
    claims.nonce !== expected.nonce
  ) {
    return reject("oidc.nonce_mismatch", "nonce is missing or not this sign-in's");
  }

  const { exp, nbf, iat, auth_time: authTime } = claims;
  if (!isNumericDate(exp)) {
    return reject("oidc.claims_invalid", "exp is missing or not a time from 1970 to 9999");
  }
  if (now >= exp + skew) return reject("oidc.expired", "exp has passed, beyond the allowed skew");
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) {
      return reject("oidc.claims_invalid", "nbf is not a time from 1970 to 9999");
    }
    if (nbf > now + skew)
      return reject("oidc.not_yet_valid", "nbf is ahead, beyond the allowed skew");
  }
  if (!isNumericDate(iat)) {
    return reject("oidc.claims_invalid", "iat is missing or not a time from 1970 to 9999");
  }
  if (iat > now + skew) {
    return reject("oidc.issued_at_invalid", "iat is in the future, beyond the allowed skew");
  }
  if (now - iat > expected.maxIdTokenAgeSeconds + skew) {
    return reject("oidc.issued_at_invalid", "iat is older than a fresh code exchange allows");
  }

  if (authTime !== undefined && !isNumericDate(authTime)) {
    return reject("oidc.claims_invalid", "auth_time is not a time from 1970 to 9999");
  }
  if (authTime !== undefined && authTime > now + skew) {
    return reject("oidc.claims_invalid", "auth_time is in the future, beyond the allowed skew");
  }
  if (expected.maxAgeSeconds !== undefined) {
    // OIDC Core §3.1.2.1: with max_age sent, auth_time is REQUIRED, and must be recent enough.
    if (authTime === undefined) {
      return reject("oidc.auth_time_missing", "max_age was sent and auth_time is absent");
    }
    if (authTime + expected.maxAgeSeconds + skew < now) {
      return reject(
        "oidc.auth_time_stale",
        `authenticated ${Math.floor(now - authTime)} s ago; max_age is ${expected.maxAgeSeconds} s`,
      );
    }
  }

  const { acr, amr } = claims;
  if (acr !== undefined && typeof acr !== "string") {
    return reject("oidc.claims_invalid", "acr is not a string");
  }
  // RFC 8176 / OIDC Core §2: amr is a JSON array of strings; anything else proves nothing.
  if (amr !== undefined && !isStringArray(amr)) {
    return reject("oidc.claims_invalid", "amr is not an array of strings");
  }

  const sub = claims.sub;
  const subject = claims[expected.subjectClaim];
  if (typeof sub !== "string" || sub === "") return reject("oidc.subject_missing", "sub is absent");
  if (typeof subject !== "string" || subject === "") {
    return reject("oidc.subject_missing", `${expected.subjectClaim} is absent or not a string`);
  }

  const kept: Record<string, unknown> = {};
  for (const name of KEPT_CLAIMS) {
    if (Object.hasOwn(claims, name)) kept[name] = freezeCopy(claims[name]);
  }
  return accept({
    issuer: expected.issuer,
    subject,
    ...(authTime === undefined ? {} : { authTime: new Date(authTime * 1000) }),
    ...(acr === undefined ? {} : { acr }),
    ...(amr === undefined ? {} : { amr: Object.freeze([...amr]) }),
    nonce: claims.nonce,
    expiresAt: new Date(exp * 1000),
    claims: Object.freeze(kept),
  });
}

/** 9999-12-31T23:59:59Z: the last second that ISO 8601 writes with a four-digit year. */
const LAST_NUMERIC_DATE = 253_402_300_799;

/**
 * A NumericDate (RFC 7519 §2) this service can hold: from 1970 to the end of the year 9999. A
 * finite number beyond it (`exp: 1e300`) makes an Invalid Date, and one past 9999 an ISO string
 * that no longer sorts as a time; either is refused as a claim of the wrong shape.
 */
function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && value >= 0 && value <= LAST_NUMERIC_DATE;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function freezeCopy(value: unknown): unknown {
  return Array.isArray(value) ? Object.freeze([...(value as unknown[])]) : value;
}
