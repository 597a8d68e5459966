import type { Aal, TokenGrant } from "./vocabulary.js";

/** Fields common to every authentication event. */
interface EventBase {
  /** When the step was completed, ISO 8601 UTC. For federated events: `AuthnInstant` / `auth_time`. */
  readonly at: string;
  /** Claims kept verbatim for the receipt (for federated events, the IdP's own values). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Fields of an MFA step that tenant-mfa itself verified on the platform. */
interface VerifiedOnPlatform {
  /**
   * The id of the audit event in which tenant-mfa recorded the verification that produced this
   * event (its authenticator API returns events with it). The decision API checks the event
   * against that record; the engine itself does not read it.
   */
  readonly verification?: string;
}

/** A memorized secret checked by the platform: one factor ("something you know"). */
export interface PasswordEvent extends EventBase {
  readonly method: "password";
  readonly source: "platform";
}

/** A time-based one-time password (RFC 6238): one factor ("something you have"), replay-resistant. */
export interface TotpEvent extends EventBase, VerifiedOnPlatform {
  readonly method: "totp";
  readonly source: "platform";
}

/** A saved recovery code: a look-up secret in NIST terms, one factor ("something you have"). */
export interface RecoveryCodeEvent extends EventBase, VerifiedOnPlatform {
  readonly method: "recovery_code";
  readonly source: "platform";
}

/**
 * A WebAuthn assertion. Phishing-resistant (verifier-name binding). With user verification it is
 * a multi-factor cryptographic authenticator; without it, one factor. AAL3 needs a hardware-based
 * authenticator (SP 800-63B-4 §2.3.1): one whose attestation proved it (`attested`) and whose key
 * cannot leave it (BE=0; a synced credential never reaches AAL3, Appendix B).
 */
export interface WebAuthnEvent extends EventBase, VerifiedOnPlatform {
  readonly method: "webauthn";
  readonly source: "platform";
  /** The UV flag of the verified authenticator data. */
  readonly userVerified: boolean;
  /** The BE flag of the verified authenticator data. */
  readonly backupEligible: boolean;
  /**
   * Whether the credential's attestation, verified at its registration, chained to a root the
   * operator trusts (a vendor's hardware). Absent: not attested, as the authenticator's own
   * word proves no hardware.
   */
  readonly attested?: boolean;
  readonly credentialId?: string;
}

/** What a verified IdP assertion proves, as granted by the tenant's mapping for that IdP. */
export interface FederatedAssurance {
  readonly aal: Aal;
  readonly phishingResistant: boolean;
}

/**
 * A sign-in at the tenant's identity provider, produced by a verifier only after the signed
 * assertion or ID token checked out. `assurance` is what the verified claims prove; an IdP that
 * states nothing proves `aal: 0`.
 */
export interface FederatedEvent extends EventBase {
  readonly method: "federated";
  readonly source: "idp";
  /** The tenant whose IdP produced the evidence; evidence from another tenant's IdP never counts. */
  readonly tenant: string;
  /** The IdP's id within that tenant. */
  readonly idp: string;
  /**
   * The version of the tenant's registration of that IdP (issuer, keys, mapping) under which
   * tenant-mfa verified the answer. A hosted flow counts the event only while that registration
   * is the current one; the engine itself does not read it.
   */
  readonly idpVersion?: number;
  readonly assurance: FederatedAssurance;
}

/** One authentication step of a sign-in. */
export type AuthenticationEvent =
  PasswordEvent | TotpEvent | RecoveryCodeEvent | WebAuthnEvent | FederatedEvent;

/**
 * The individual acting through a shared or privileged credential, as named by a
 * privileged-access tool (RFC 8693 `act` claim, seed 001). Kept on the receipt.
 */
export interface Actor {
  readonly sub: string;
  readonly iss?: string;
  /** A further actor in a delegation chain (RFC 8693 §4.1). */
  readonly act?: Actor;
}

/** The authentication events of one sign-in. */
export interface Evidence {
  readonly events: readonly AuthenticationEvent[];
  /** A verified token-based grant, for `integration` principals that do not sign in interactively. */
  readonly grant?: TokenGrant;
  readonly act?: Actor;
}

/** An authenticator the principal has enrolled, used to offer the right challenge. */
export type EnrolledAuthenticator =
  | { readonly method: "totp"; readonly id?: string; readonly label?: string }
  | {
      readonly method: "webauthn";
      readonly id?: string;
      readonly label?: string;
      /** Whether the credential can verify the user (PIN or biometric), as seen at registration. */
      readonly userVerifying: boolean;
      readonly backupEligible: boolean;
      /** Whether its attestation proved hardware at registration (see {@link WebAuthnEvent}). */
      readonly attested?: boolean;
    }
  | { readonly method: "recovery_code"; readonly remaining: number };
