/**
 * The port through which the authenticator use cases speak WebAuthn (W3C WebAuthn Level 3). The
 * verifier in `src/verifiers/webauthn` implements it; the composition root wires it in. Like the
 * TOTP port it is stateless: it checks a response against what the caller gives it (the challenge
 * it stored, the tenant's relying party, the stored credential) and returns what the caller must
 * persist (the new credential, the new signature counter); the use case keeps challenges
 * single-use and counters monotonic (DESIGN invariant 7).
 *
 * @module
 */

/** COSE algorithms requested at registration: EdDSA (-8), ES256 (-7), RS256 (-257). */
export const WEBAUTHN_ALGORITHMS = Object.freeze([-8, -7, -257] as const);

/** Whether an assertion without user verification (UV=0) is refused or counted as one factor. */
export type UserVerificationPolicy = "required" | "preferred";

/** The attestation conveyance asked of authenticators at registration. */
export type AttestationPreference = "none" | "direct";

/** The relying party a ceremony runs for: its id and the exact origins accepted. */
export interface RelyingParty {
  /** The RP id (a registrable domain suffix of every origin's host). */
  readonly id: string;
  readonly name: string;
  /** Exact origins (`https://app.example.com`); nothing else is accepted (checklist W2). */
  readonly origins: readonly string[];
}

/** Options JSON for `navigator.credentials.create()` / `.get()` (what @simplewebauthn/browser takes). */
export type WebAuthnOptionsJson = Readonly<Record<string, unknown>>;

/** Why a response was refused: each reason a stable code. */
export type WebAuthnRejectionCode =
  | "webauthn.malformed_response"
  | "webauthn.wrong_type"
  | "webauthn.challenge_mismatch"
  | "webauthn.origin_not_allowed"
  | "webauthn.cross_origin"
  | "webauthn.rp_id_mismatch"
  | "webauthn.user_not_present"
  | "webauthn.user_not_verified"
  | "webauthn.backup_flags_invalid"
  | "webauthn.backup_eligibility_changed"
  | "webauthn.bad_signature"
  | "webauthn.algorithm_not_allowed"
  | "webauthn.aaguid_not_allowed"
  | "webauthn.attestation_rejected"
  | "webauthn.attestation_untrusted"
  | "webauthn.credential_unknown";

/** A refusal: the stable code and a detail for logs and people (never key material). */
export interface WebAuthnRejection {
  readonly ok: false;
  readonly code: WebAuthnRejectionCode;
  readonly detail: string;
}

/** A credential as verified at registration: what the caller stores. */
export interface RegisteredCredential {
  /** The credential id, base64url. */
  readonly credentialId: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  readonly algorithm: number;
  readonly signCount: number;
  readonly transports: readonly string[];
  /** The authenticator model as reported: proven only when `attested`. */
  readonly aaguid: string;
  readonly backupEligible: boolean;
  readonly backupState: boolean;
  readonly userVerified: boolean;
  readonly attestationFormat: string;
  /**
   * The root the operator trusts that the attestation chains to, if any: the key is then in an
   * authenticator of the model its AAGUID names, a vendor's hardware. Only such a credential,
   * device-bound and verifying the user, reaches AAL3 (NIST SP 800-63B-4 §2.3: hardware-based),
   * and only while that root stays trusted ({@link WebAuthnProtocol.trustsAttestationRoot}).
   */
  readonly attestationRoot?: AttestationRootRef;
}

/** A trusted attestation root as a credential remembers it. */
export interface AttestationRootRef {
  /** Its subject, for people reading the audit log. */
  readonly subject: string;
  /** The SHA-256 fingerprint of its certificate (`AB:CD:…`), what trust is judged by. */
  readonly fingerprint: string;
}

/** The outcome of a registration ceremony. */
export type RegistrationVerification =
  { readonly ok: true; readonly credential: RegisteredCredential } | WebAuthnRejection;

/** The stored credential an assertion is checked against. */
export interface StoredCredential {
  readonly credentialId: string;
  readonly publicKey: string;
  readonly signCount: number;
  readonly backupEligible: boolean;
  readonly transports: readonly string[];
}

/** A verified assertion: what it proves and what the caller must persist. */
export interface VerifiedAssertion {
  readonly ok: true;
  readonly credentialId: string;
  readonly userVerified: boolean;
  readonly backupEligible: boolean;
  readonly backupState: boolean;
  /** The counter the authenticator reported. */
  readonly signCount: number;
  /**
   * WebAuthn §6.1.1: the counter did not grow (and is not 0/0): the authenticator may have been
   * cloned. Returned, not refused, so that the tenant's policy decides (checklist W6).
   */
  readonly cloneSignal: boolean;
}

/** The outcome of an authentication ceremony. */
export type AuthenticationVerification = VerifiedAssertion | WebAuthnRejection;

/**
 * WebAuthn §6.1.1 / checklist W6: a counter that does not grow is a clone signal, unless both the
 * stored and the received value are 0 (authenticators without a counter, most passkeys).
 */
export function isSignCountRegression(stored: number, received: number): boolean {
  return (stored !== 0 || received !== 0) && received <= stored;
}

/**
 * Thrown by a {@link WebAuthnProtocol} verification that could not judge the response at all (the
 * thread it runs on failed or stopped answering): nothing was checked, so the response is neither
 * accepted nor refused, and the ceremony may be finished again. The use cases answer it as
 * `webauthn.unavailable` (503); its message, for operators, says what failed.
 */
export class VerifierUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VerifierUnavailable";
  }
}

/** WebAuthn registration and authentication: options out, responses verified. */
export interface WebAuthnProtocol {
  /**
   * Whether the operator configured attestation roots. Without any, no credential is attested,
   * so no tenant can restrict its authenticator models (nothing would prove them).
   */
  readonly verifiesAttestation: boolean;

  /**
   * Whether the root with this fingerprint is still one the operator trusts. A credential counts
   * as attested only while its root does: removing a root (a vendor's batch key leaked, say)
   * withdraws AAL3 from every credential it vouched for, at their next verification.
   */
  trustsAttestationRoot(fingerprint: string): boolean;

  /** Options for `navigator.credentials.create()`. */
  registrationOptions(input: {
    readonly rp: RelyingParty;
    /** An opaque, stable id of the principal; the user handle is derived from it, never equal. */
    readonly user: { readonly id: string; readonly name: string; readonly displayName: string };
    /** The challenge, base64url (at least 16 random bytes; the use case draws 32). */
    readonly challenge: string;
    readonly excludeCredentials: readonly { id: string; transports: readonly string[] }[];
    readonly userVerification: UserVerificationPolicy;
    readonly attestation: AttestationPreference;
    readonly timeoutMs: number;
  }): Promise<WebAuthnOptionsJson>;

  /**
   * Verifies a registration response (what @simplewebauthn/browser's `startRegistration` returns)
   * against the challenge, the RP, the user-verification policy, the requested algorithms and,
   * when given, the allowed authenticator models.
   */
  verifyRegistration(input: {
    readonly response: unknown;
    readonly challenge: string;
    readonly rp: RelyingParty;
    readonly userVerification: UserVerificationPolicy;
    /** AAGUIDs allowed, each proven by an attestation; empty: any model, attested or not. */
    readonly aaguids: readonly string[];
    /** The time the attestation's certificates must be valid at (the use case's clock). */
    readonly at: Date;
  }): Promise<RegistrationVerification>;

  /** Options for `navigator.credentials.get()`, limited to `allowCredentials`. */
  authenticationOptions(input: {
    readonly rp: RelyingParty;
    readonly challenge: string;
    readonly allowCredentials: readonly { id: string; transports: readonly string[] }[];
    readonly userVerification: UserVerificationPolicy;
    readonly timeoutMs: number;
  }): Promise<WebAuthnOptionsJson>;

  /**
   * Verifies an assertion (what `startAuthentication` returns) made with `credential`: the
   * challenge, RP, flags, backup eligibility as registered, the signature, and the counter (a
   * regression is reported as `cloneSignal`, not refused).
   */
  verifyAuthentication(input: {
    readonly response: unknown;
    readonly challenge: string;
    readonly rp: RelyingParty;
    readonly userVerification: UserVerificationPolicy;
    readonly credential: StoredCredential;
  }): Promise<AuthenticationVerification>;
}
