/**
 * The closed vocabularies of tenant-mfa. Each is a readonly tuple (for runtime checks and
 * property-test generators) and the union type derived from it.
 *
 * @module
 */

/** How a principal signs in, which decides whether and how MFA applies (seed 000). */
export const POPULATIONS = ["direct", "sso", "integration", "api_human", "guest"] as const;
/** How a principal signs in, which decides whether and how MFA applies (seed 000). */
export type Population = (typeof POPULATIONS)[number];

/** How one authentication step was done. */
export const METHODS = ["password", "totp", "webauthn", "recovery_code", "federated"] as const;
/** How one authentication step was done. */
export type Method = (typeof METHODS)[number];

/** Where the proof of MFA may come from: the platform's own authenticators, the tenant's IdP, or either. */
export const PROOF_SOURCES = ["platform", "idp", "idp_or_platform"] as const;
/** Where the proof of MFA may come from: the platform's own authenticators, the tenant's IdP, or either. */
export type ProofSource = (typeof PROOF_SOURCES)[number];

/** Where one authentication event happened. */
export type EventSource = "platform" | "idp";

/** The session risk reported by the platform's risk checks, lowest first. */
export const RISK_LEVELS = ["low", "medium", "high"] as const;
/** The session risk reported by the platform's risk checks, lowest first. */
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** The MFA postures a tenant can choose. */
export const POSTURES = [
  "platform_mfa",
  "phishing_resistant",
  "idp_mfa",
  "idp_or_platform",
  "mfa_optional",
] as const;
/** The MFA postures a tenant can choose. */
export type Posture = (typeof POSTURES)[number];

/**
 * Authenticator assurance level (NIST SP 800-63B-4 §2). `0` means nothing was proven, which is
 * what an IdP that states no assurance proves (SP 800-63C-4: the RP SHALL NOT assume any AAL).
 */
export type Aal = 0 | 1 | 2 | 3;

/** Exemption categories. `shared_login` exists only so that it can be refused by name (seed 001). */
export const EXEMPTION_CATEGORIES = [
  "break_glass",
  "legacy_integration",
  "temporary_access",
  "shared_login",
] as const;
/** Exemption categories. `shared_login` exists only so that it can be refused by name (seed 001). */
export type ExemptionCategory = (typeof EXEMPTION_CATEGORIES)[number];

/** Token-based grants with which an integration authenticates without an interactive login. */
export const TOKEN_GRANTS = ["client_credentials", "jwt_bearer"] as const;
/** Token-based grants with which an integration authenticates without an interactive login. */
export type TokenGrant = (typeof TOKEN_GRANTS)[number];

/** What a decision tells the platform to do. */
export const OUTCOMES = ["allow", "challenge", "deny", "not_applicable"] as const;
/** What a decision tells the platform to do. */
export type Outcome = (typeof OUTCOMES)[number];

/** `report_only` while the tenant's enforcement start date lies ahead; `enforce` otherwise. */
export type Mode = "enforce" | "report_only";

/** The REFEDS MFA profile identifier, used as OIDC `acr` and SAML `AuthnContextClassRef` (seed 004). */
export const REFEDS_MFA = "https://refeds.org/profile/mfa";

/** True when `value` is one of `list`. A type guard for parsing untrusted input. */
export function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (list as readonly string[]).includes(value);
}

// The vocabularies every decision checks a value against, written out as switches: `includes`
// on the list costs about a hundred instructions a call, a switch over constants a few. Each
// must accept exactly its list's words (vocabulary.test.ts holds them to it).

/** True when `value` is one of {@link POPULATIONS}. */
export function isPopulation(value: unknown): value is Population {
  switch (value) {
    case "direct":
    case "sso":
    case "integration":
    case "api_human":
    case "guest":
      return true;
    default:
      return false;
  }
}

/** True when `value` is one of {@link RISK_LEVELS}. */
export function isRiskLevel(value: unknown): value is RiskLevel {
  return value === "low" || value === "medium" || value === "high";
}

/** True when `value` is one of {@link TOKEN_GRANTS}. */
export function isTokenGrant(value: unknown): value is TokenGrant {
  return value === "client_credentials" || value === "jwt_bearer";
}

/** True when `value` is one of {@link EXEMPTION_CATEGORIES}. */
export function isExemptionCategory(value: unknown): value is ExemptionCategory {
  switch (value) {
    case "break_glass":
    case "legacy_integration":
    case "temporary_access":
    case "shared_login":
      return true;
    default:
      return false;
  }
}
