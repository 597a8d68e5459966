import type { Decision } from "./decision.js";
import type { AuthenticationEvent } from "./evidence.js";
import { REFEDS_MFA, type Aal } from "./vocabulary.js";

/** The `typ` header of an assurance token (RFC 8725 §3.11: explicit typing keeps tokens apart). */
export const ASSURANCE_TOKEN_TYPE = "tenant-mfa-assurance+jwt";

/** REFEDS Single-Factor Authentication profile: what a sign-in short of MFA proves. */
export const REFEDS_SFA = "https://refeds.org/profile/sfa";

/**
 * The claims of an assurance token: what tenant-mfa vouches for about one allowed sign-in, for the
 * platform to verify with the keys at `/.well-known/jwks.json` rather than trust the channel.
 * Standard names where one exists (RFC 7519, OpenID Connect Core §2, RFC 8176 for `amr`); the
 * rest say what the decision proved and which policy versions applied, so a token can be traced
 * to its receipt.
 */
export interface AssuranceClaims {
  readonly iss: string;
  /** The principal, within `tenant`. */
  readonly sub: string;
  readonly aud: string;
  readonly tenant: string;
  /** REFEDS MFA when the evidence is multi-factor, REFEDS SFA otherwise. */
  readonly acr: string;
  /**
   * RFC 8176 values for the platform methods that satisfied the requirement, plus `mfa` when
   * multi-factor. A proof at the tenant's IdP adds no method of its own: see {@link amrValues}.
   */
  readonly amr: readonly string[];
  /** When the step that proves the assurance happened, seconds since the epoch. */
  readonly auth_time: number;
  /** The authenticator assurance level proven (SP 800-63B-4). */
  readonly aal: Aal;
  /** Whether the proof is phishing-resistant. */
  readonly phr: boolean;
  /** The receipt of the decision behind the token. */
  readonly decision: string;
  readonly policy_versions: {
    readonly tenant_policy: number | null;
    readonly mandates: readonly { readonly id: string; readonly version: number }[];
  };
  /** Present when an exemption let the sign-in through: what it excused and until when. */
  readonly exemption?: { readonly id: string; readonly expires_at: number };
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/** Where a token is issued from, for whom, and for how long. */
export interface AssuranceClaimsOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly now: Date;
  readonly lifetimeSeconds: number;
  /** Unique per token (`jti`), from the caller's randomness. */
  readonly tokenId: string;
}

/** Why no token can be issued for a decision. */
export type AssuranceClaimsRefusal =
  "decision_not_allowed" | "decision_without_id" | "decision_without_proof" | "exemption_expired";

/**
 * The claims for `decision`, or why there are none: only an `allow` that was stored (it has an id,
 * so the token names its receipt) and that an authentication satisfied earns a token. An allow
 * outside interactive MFA (an integration's token grant) has no authentication to vouch for: its
 * `auth_time` and `acr` would be made up. In `report_only` mode the decision's outcome is
 * what the user gets, so an `allow` there earns one too; what enforcement would have decided stays
 * on the receipt. A token never outlives the exemption that let its sign-in through: it expires
 * with it, and none is issued once it has ended.
 */
export function assuranceClaims(
  decision: Decision,
  options: AssuranceClaimsOptions,
):
  | { readonly ok: true; readonly claims: AssuranceClaims }
  | { readonly ok: false; readonly code: AssuranceClaimsRefusal } {
  if (decision.outcome !== "allow") return { ok: false, code: "decision_not_allowed" };
  if (decision.id === null) return { ok: false, code: "decision_without_id" };
  const proof = decision.satisfiedBy;
  if (proof === null) return { ok: false, code: "decision_without_proof" };
  const aal: Aal = proof.aal;
  const multiFactor = aal >= 2;
  const iat = Math.floor(options.now.getTime() / 1000);
  // An event inside the accepted clock skew may lie a little ahead: never claim a future time.
  const authTime = Math.min(iat, Math.floor(Date.parse(proof.provenAt) / 1000));
  // An exemption is valid before its expiry only (`expiresAt` excluded), so the token is too.
  const exemptionEnds =
    decision.exemption === null
      ? Infinity
      : Math.floor(Date.parse(decision.exemption.expiresAt) / 1000);
  if (!(exemptionEnds > iat)) return { ok: false, code: "exemption_expired" };
  const amr = new Set(proof.events.flatMap(amrValues));
  // `mfa` is what this decision proved.
  if (multiFactor) amr.add("mfa");
  return {
    ok: true,
    claims: {
      iss: options.issuer,
      sub: decision.principal.id,
      aud: options.audience,
      tenant: decision.tenant,
      acr: multiFactor ? REFEDS_MFA : REFEDS_SFA,
      amr: [...amr].sort(),
      auth_time: authTime,
      aal,
      phr: proof.phishingResistant,
      decision: decision.id,
      policy_versions: {
        tenant_policy: decision.versions.tenantPolicy,
        mandates: decision.versions.mandates,
      },
      ...(decision.exemption === null
        ? {}
        : { exemption: { id: decision.exemption.id, expires_at: exemptionEnds } }),
      iat,
      exp: Math.min(iat + options.lifetimeSeconds, exemptionEnds),
      jti: options.tokenId,
    },
  };
}

/**
 * RFC 8176 §2 values for one event. A TOTP code and a saved recovery code are both one-time
 * passwords (`otp`); a WebAuthn key is `hwk` only when an attestation proved it hardware and it
 * is device-bound, `swk` when synced, and `pop` (which leaves open where the key is kept)
 * otherwise; user verification has no value of its own (`aal` and `mfa` carry it).
 *
 * A sign-in at the tenant's IdP names none: its `amr` is the IdP's statement, which the tenant's
 * mapping read into an assurance (`aal`, `phr`, and `mfa` at AAL2), and the token, signed by
 * tenant-mfa, says what tenant-mfa credited. Repeated, the IdP's values said more: `hwk` for MFA
 * the mapping did not hold phishing-resistant (and here `hwk` means an attested hardware key),
 * `pwd` + `otp` beside a single-factor context that ranked above them, any string it liked. RFC
 * 8176 registers values for methods, none for "what an IdP vouched for", and OpenID Connect Core
 * §2 leaves their meaning to what the parties agree: here, methods done on the platform. The
 * IdP's words stay on the receipt the token names (`decision`).
 */
function amrValues(event: AuthenticationEvent): readonly string[] {
  switch (event.method) {
    case "password":
      return ["pwd"];
    case "totp":
    case "recovery_code":
      return ["otp"];
    case "webauthn":
      if (event.backupEligible) return ["swk"];
      return [event.attested === true ? "hwk" : "pop"];
    case "federated":
      return [];
  }
}
