import type { Aal } from "../core/vocabulary.js";

/** The `typ` header of an assurance token (RFC 8725 §3.11: explicit typing keeps tokens apart). */
export const ASSURANCE_TOKEN_TYPE = "tenant-mfa-assurance+jwt";

/**
 * The claims of a verified assurance token: what tenant-mfa vouches for about one allowed sign-in.
 * Times are seconds since the epoch. Every field was checked for presence and type before this
 * value was built.
 */
export interface AssuranceTokenClaims {
  readonly iss: string;
  /** The principal, within `tenant`. */
  readonly sub: string;
  readonly aud: string;
  readonly tenant: string;
  /** `https://refeds.org/profile/mfa` when multi-factor, `https://refeds.org/profile/sfa` otherwise. */
  readonly acr: string;
  /** RFC 8176 method values, with `mfa` when the proof was multi-factor. */
  readonly amr: readonly string[];
  /** When the step that proves the assurance happened. */
  readonly auth_time: number;
  /** The authenticator assurance level proven (NIST SP 800-63B-4), 0 to 3. */
  readonly aal: Aal;
  /** Whether the proof is phishing-resistant. */
  readonly phr: boolean;
  /** The id of tenant-mfa's receipt for the decision behind the token, for audits. */
  readonly decision: string;
  readonly policy_versions: {
    readonly tenant_policy: number | null;
    readonly mandates: readonly { readonly id: string; readonly version: number }[];
  };
  /** Present when an exemption let the sign-in through: the exemption and when it expires. */
  readonly exemption?: { readonly id: string; readonly expires_at: number };
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}
