import type { Decision } from "../core/decision.js";
import type { AuthenticationEvent, FederatedEvent } from "../core/evidence.js";
import type { Exemption, PlatformMandate, RequirementSpec, TenantPolicy } from "../core/policy.js";
import type { IdpAssuranceMapping } from "../core/idp-assurance.js";
import type { Population } from "../core/vocabulary.js";
import type { TotpParameters } from "./authenticators/totp-protocol.js";
import type { OidcIdpSettings, SamlIdpSettings } from "./federation/protocols.js";

/**
 * The records the application stores. Times are ISO 8601 UTC strings; every tenant-owned record
 * carries its tenant id, and every store method takes the tenant id first.
 */

/** An organisation on the platform. */
export interface TenantRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  /**
   * Where sign-in flows may send the user back to (DESIGN invariant 10): absolute URLs; a
   * `return_to` matches one with the same origin and a path at or below it.
   */
  readonly returnUrls: readonly string[];
  /** An https URL of the tenant's logo, shown on the hosted pages. */
  readonly logoUrl?: string;
}

/** One immutable version of a tenant policy, with who changed it, when and why. */
export interface PolicyVersionRecord {
  readonly tenant: string;
  readonly version: number;
  readonly policy: TenantPolicy;
  readonly rationale: string;
  readonly actor: string;
  readonly createdAt: string;
  /** The version this one rolled back to, when it was a rollback. */
  readonly rollbackOf?: number;
}

/** One immutable version of a platform mandate. The newest version of an id is current. */
export interface MandateVersionRecord {
  readonly id: string;
  readonly version: number;
  readonly mandate: PlatformMandate;
  readonly status: "active" | "retired";
  readonly rationale: string;
  readonly actor: string;
  readonly createdAt: string;
}

/** Someone or something that signs in, within one tenant. */
export interface PrincipalRecord {
  readonly tenant: string;
  readonly id: string;
  readonly externalId?: string;
  readonly population: Population;
  readonly displayName?: string;
  /**
   * A login several people share (seed 001): no exemption excuses it, whatever its category.
   * Absent: not shared.
   */
  readonly sharedLogin?: true;
  /**
   * The one IdP of the tenant whose answers may sign the principal in. An OIDC `sub` or a SAML
   * NameID is unique only at the IdP that issued it: in a tenant with several IdPs, two of them
   * may name different people alike. Absent: any IdP of the tenant.
   */
  readonly idp?: string;
  /**
   * The issuer (OIDC) or entity id (SAML) `idp` was registered with when the principal was bound
   * to it: the subject is unique only there, so the binding counts only while `idp` is registered
   * with this one. Absent with `idp` present: a binding that counts for no issuer (its IdP could
   * not be read when migration 0025 filled it in), until the principal is bound again.
   */
  readonly idpIssuer?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /**
   * When the principal's proofs were last withdrawn (an authenticator removed, its recovery codes
   * revoked or replaced), by the clock of the instance that withdrew them: for people to read.
   * Moved only by `PrincipalStore.withdrawProofs`; absent: never withdrawn.
   */
  readonly proofsWithdrawnAt?: string;
  /**
   * The position in the tenant's audit chain of the event that recorded that withdrawal: a
   * verification recorded below it counts in no decision (`refuseWithdrawnVerifications`), an
   * order no clock can blur. Absent with `proofsWithdrawnAt` present: withdrawn before positions
   * were kept (migration 0023), compared by time instead. Moved only by
   * `PrincipalStore.withdrawProofs`.
   */
  readonly proofsWithdrawnSeq?: number;
}

/** An exemption with its administrative history. */
export interface ExemptionRecord extends Exemption {
  readonly owner: string;
  readonly justification: string;
  readonly reviewAt: string;
  /** The exemption this request renews, if any. */
  readonly renewalOf?: string;
  readonly createdAt: string;
  /** Who approved, rejected or revoked it, and when. */
  readonly decidedBy?: string;
  readonly decidedAt?: string;
}

/** A stored decision: what was decided, for whom, and everything needed to explain it. */
export interface ReceiptRecord {
  readonly id: string;
  readonly tenant: string;
  readonly principal: string;
  readonly outcome: Decision["outcome"];
  readonly createdAt: string;
  readonly decision: Decision;
  /** The inputs, summarised: evidence methods and times, risk, step-up; never secrets. */
  readonly inputSummary: Readonly<Record<string, unknown>>;
}

/** An administrative role. `platform_service` requests decisions and holds no admin right. */
export const ROLES = [
  "platform_admin",
  "tenant_admin",
  "exemption_approver",
  "tenant_auditor",
  "platform_service",
] as const;
/** An administrative role. */
export type Role = (typeof ROLES)[number];

/** An API key for automation: stored as a hash, shown once, scoped to roles and tenants. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  /** SHA-256 of the secret, hex. Keys are 256-bit random, so a fast hash is enough. */
  readonly secretHash: string;
  readonly roles: readonly Role[];
  /** `all` only for platform-wide keys; otherwise the tenants the key may act in. */
  readonly tenants: "all" | readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  /**
   * The person or system accountable for the key. Keys with one holder are one party: it never
   * approves its own exemption request, whichever of its keys asked. Absent: the key is its own
   * holder.
   */
  readonly holder?: string;
  /** The assurance-token audiences a `platform_service` key may ask for; absent: any. */
  readonly audiences?: readonly string[];
}

/** One link of an audit chain: an append-only, hash-chained record. */
export interface AuditEvent {
  /** `platform`, or `tenant:<id>`: one chain per tenant plus one for platform events. */
  readonly chain: string;
  /** Position in the chain, from 1, without gaps. */
  readonly seq: number;
  readonly id: string;
  readonly tenant: string | null;
  readonly type: string;
  readonly actor: string;
  readonly at: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The previous link's hash; 64 zeros for the first. */
  readonly prevHash: string;
  /** SHA-256 over the canonical form of every field above. */
  readonly hash: string;
}

/** An OIDC provider's settings as stored: the client secret only sealed (DESIGN invariant 6). */
export interface StoredOidcSettings extends Omit<OidcIdpSettings, "clientSecret"> {
  readonly sealedClientSecret: string;
}

/** What to ask an IdP for, in its own vocabulary (IdPs disagree on names). */
export interface IdpRequestValues {
  /** `acr` values (OIDC) / `AuthnContextClassRef` (SAML) to request MFA with. */
  readonly mfa: readonly string[];
  /** Values to request when phishing resistance is required; empty when the IdP has none. */
  readonly phishingResistant: readonly string[];
}

interface IdpRecordBase {
  readonly tenant: string;
  readonly id: string;
  readonly displayName?: string;
  readonly request: IdpRequestValues;
  readonly mapping: IdpAssuranceMapping;
  /** Accepted clock difference with the IdP, in seconds (default 120). */
  readonly clockSkewSeconds: number;
  /** The oldest IdP authentication accepted, in seconds, whatever the policy allows. */
  readonly maxAuthenticationAgeSeconds: number;
  /** Starts at 1; every replacement adds one. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** A tenant's identity provider: SAML 2.0 or OpenID Connect. */
export type IdpRecord =
  | (IdpRecordBase & { readonly protocol: "saml"; readonly saml: SamlIdpSettings })
  | (IdpRecordBase & { readonly protocol: "oidc"; readonly oidc: StoredOidcSettings });

/**
 * A sign-in sent to an IdP, remembered so that its answer can be matched: the SAML request id,
 * the OIDC nonce and PKCE verifier (sealed), where to return, and what was asked for. Used once.
 */
export interface FederationRequestRecord {
  /** Opaque and unguessable: the SAML `RelayState` and the OIDC `state`. */
  readonly id: string;
  readonly tenant: string;
  readonly idp: string;
  readonly protocol: IdpRecord["protocol"];
  /** The SAML AuthnRequest `ID`. */
  readonly requestId?: string;
  readonly nonce?: string;
  readonly sealedCodeVerifier?: string;
  /** Who the platform expects to sign in; the verified subject must match it. */
  readonly principalHint?: string;
  readonly returnTo: string;
  readonly requested: readonly string[];
  readonly maxAgeSeconds?: number;
  readonly forceAuthn: boolean;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly consumedAt?: string;
  /** The hosted flow this sign-in belongs to: the answer goes back to the flow, not `returnTo`. */
  readonly flow?: string;
  /**
   * SHA-256 (hex) of the browser cookie of the browser that started a direct sign-in (one that is
   * not a flow's): its answer counts only in that browser (login CSRF, RFC 6749 §10.12). A flow's
   * sign-in has none: the flow binds its own browser. Never the cookie itself.
   */
  readonly browserHash?: string;
  /**
   * The flow's count of withdrawals of the principal's proofs when this sign-in started
   * (`FlowRecord.withdrawals`): its answer counts for the flow only if there was none since.
   * Absent on a request started before it was recorded.
   */
  readonly flowWithdrawals?: number;
}

/**
 * A verified SAML answer to a direct sign-in, held until the browser that started the sign-in
 * claims it. The answer reaches the ACS as a cross-site POST, which carries no SameSite=Lax
 * cookie, so the ACS cannot tell whose browser posted it: it redirects to a same-origin GET with a
 * one-time id, and only a browser whose cookie hashes to `browserHash` completes there, once.
 * Either evidence to decide on ({@link HeldEvidence}) or the IdP's word that it could not do MFA
 * ({@link HeldMfaUnavailable}), which sends the browser on to `returnTo?error=…`.
 */
export type FederationAnswerRecord = HeldEvidence | HeldMfaUnavailable;

/** What every held answer keeps. */
interface HeldAnswerCommon {
  /** SHA-256 (hex) of the one-time answer id: the id itself travels only in the redirect. */
  readonly hash: string;
  readonly tenant: string;
  readonly idp: string;
  /** The request it answers. */
  readonly request: string;
  /** As on the request: kept for the audit event of a refused claim. */
  readonly principalHint?: string;
  readonly returnTo: string;
  /** The request's: the browser that may claim the answer. */
  readonly browserHash: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly claimedAt?: string;
}

/** A verified answer (its request consumed at the ACS): decided when it is claimed. */
export interface HeldEvidence extends HeldAnswerCommon {
  /** Who the IdP signed in: the verified subject. */
  readonly subject: string;
  /** The federated evidence the answer proved. */
  readonly event: FederatedEvent;
}

/**
 * The IdP could not do MFA (SAML `NoAuthnContext`), audited at the ACS as
 * `federation.mfa_unavailable`: claimed, it sends the browser to `returnTo?error=idp_mfa_unavailable`.
 */
export interface HeldMfaUnavailable extends HeldAnswerCommon {
  readonly outcome: "mfa_unavailable";
}

/** What tenant-mfa last saw an IdP prove, to notice when it starts to prove less (drift). */
export interface IdpObservation {
  readonly tenant: string;
  readonly idp: string;
  /** Whether the last verified response proved MFA. */
  readonly provingMfa: boolean;
  /** Context and amr values seen that the mapping does not name. */
  readonly unmappedSeen: readonly string[];
  readonly updatedAt: string;
}

/**
 * An authenticator a principal holds on the platform: for now a TOTP credential (RFC 6238).
 * It counts only once confirmed (`active`); its secret is stored sealed, bound to this record.
 */
export interface AuthenticatorRecord {
  readonly tenant: string;
  readonly principal: string;
  readonly id: string;
  readonly kind: "totp";
  /** The principal's name for it ("phone"), shown in lists. */
  readonly name: string;
  readonly status: "pending" | "active";
  /** The base32 secret, sealed in the context of this tenant, principal and id. */
  readonly sealedSecret: string;
  readonly totp: TotpParameters;
  /** The last time step accepted; a step at or before it is refused (RFC 6238 §5.2). */
  readonly lastStep?: number;
  /** Failed verifications since the last success (NIST SP 800-63B §5.2.2). */
  readonly failedAttempts: number;
  /** When the failure limit was reached; a locked authenticator verifies nothing. */
  readonly lockedAt?: string;
  readonly createdAt: string;
  readonly confirmedAt?: string;
  readonly lastUsedAt?: string;
}

/**
 * A principal's current set of recovery codes (saved look-up secrets, SP 800-63B-4). A new set
 * replaces the previous one; the failure count belongs to the set's row and carries over.
 */
export interface RecoveryCodeSetRecord {
  readonly tenant: string;
  readonly principal: string;
  readonly id: string;
  readonly createdAt: string;
  /** Failed verifications since the last success (NIST SP 800-63B §5.2.2). */
  readonly failedAttempts: number;
  /** When the failure limit was reached; a locked set verifies nothing. */
  readonly lockedAt?: string;
  readonly lastUsedAt?: string;
}

/**
 * One recovery code: its locator (the first characters, not secret, used to find the code
 * without trying every hash) and a salted password hash of the whole code. Used once.
 */
export interface RecoveryCodeRecord {
  readonly tenant: string;
  readonly principal: string;
  readonly set: string;
  readonly locator: string;
  /** Self-describing: algorithm, parameters, salt and hash (see `SecretHasher`). */
  readonly hash: string;
  readonly usedAt?: string;
}

/**
 * A key that signs assurance tokens. Keys rotate with overlap: a key is published in the JWKS
 * from its creation, before it signs (`activatesAt`), so that verifiers have fetched it by then;
 * it signs until `retiresAt`, and stays published until `removedAt`, when every token it signed
 * has expired. Its private half is stored sealed only.
 */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: "ES256" | "EdDSA";
  readonly publicJwk: Readonly<Record<string, string>>;
  /**
   * The private JWK, sealed; absent once the key was withdrawn (`tenant-mfa keys withdraw`)
   * because no configured key opened it: it never signs again, and names no sealing key.
   */
  readonly sealedPrivateJwk?: string;
  readonly createdAt: string;
  readonly activatesAt: string;
  /** The key a scheduled successor takes over from; absent for first keys and rotations. */
  readonly successorOf?: string;
  readonly retiresAt: string;
  readonly removedAt: string;
}

/**
 * Failed verifications under one throttle key of a tenant: `principal:<id>` (every method of one
 * principal) or `client:<address>` (every principal tried from one client address).
 */
export interface VerificationThrottleRecord {
  readonly tenant: string;
  readonly key: string;
  /** Failures since the last success, the last unlock, or the last quiet period. */
  readonly consecutiveFailures: number;
  /** Before this instant, verification under this key is refused without checking anything. */
  readonly nextAttemptAt?: string;
  /** When too many failures locked the principal; a locked principal verifies nothing. */
  readonly lockedAt?: string;
  /** When the lock lapses by itself, unless an administrator lifts it before. */
  readonly lockExpiresAt?: string;
  readonly lastFailureAt?: string;
  /** The last successful verification (principal keys only): the proof of a fresh MFA. */
  readonly lastSuccessAt?: string;
}

/**
 * A WebAuthn credential (passkey or security key) a principal holds on the platform. Its
 * credential id is unique within the tenant; its public key is not secret, but never shown.
 */
export interface WebAuthnCredentialRecord {
  readonly tenant: string;
  readonly principal: string;
  /** The authenticator id (`auth_…`), as in the authenticator list and its DELETE route. */
  readonly id: string;
  /** The WebAuthn credential id, base64url. */
  readonly credentialId: string;
  /** The principal's name for it ("YubiKey", "laptop"), shown in lists. */
  readonly name: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  /** Its COSE algorithm (-8, -7 or -257). */
  readonly algorithm: number;
  /** The last signature counter accepted (0 for authenticators without one). */
  readonly signCount: number;
  readonly transports: readonly string[];
  /** The authenticator model as it reported itself at registration: proven only when `attested`. */
  readonly aaguid: string;
  /** BE at registration; it must never change (checklist W5). A BE=1 credential stops at AAL2. */
  readonly backupEligible: boolean;
  /** BS as last seen. */
  readonly backupState: boolean;
  readonly deviceType: "single_device" | "multi_device";
  /** Whether the user was verified at registration. */
  readonly userVerified: boolean;
  /**
   * The SHA-256 fingerprint of the trusted root its attestation chained to at registration, if
   * any: hardware of the model its AAGUID names. It counts as attested (AAL3 when also BE=0)
   * only while the operator still trusts that root.
   */
  readonly attestationRoot?: string;
  /**
   * When the key last gave a clone signal (a signature counter that did not grow, checklist W6),
   * while that signal stands: until its next verification whose counter grows. Meanwhile it
   * counts as not attested, whatever its root ({@link WebAuthnCredentialRecord.attestationRoot}).
   */
  readonly cloneSuspectedAt?: string;
  /** Failed verifications since the last success (NIST SP 800-63B §5.2.2). */
  readonly failedAttempts: number;
  readonly lockedAt?: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
}

/**
 * A WebAuthn challenge, kept server-side until it is used once or expires (checklist W1): for a
 * registration or an authentication, by one principal.
 */
export interface WebAuthnChallengeRecord {
  readonly tenant: string;
  /** The ceremony id the API hands out (`wreg_…`, `wauth_…`). */
  readonly id: string;
  readonly purpose: "registration" | "authentication";
  readonly principal: string;
  /** 32 random bytes, base64url. Never audited nor logged. */
  readonly challenge: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** What a tenant's WebAuthn ceremonies accept. */
export interface WebAuthnSettings {
  readonly rpId: string;
  readonly rpName: string;
  /** Exact origins; https, or http for localhost and *.localhost only. */
  readonly origins: readonly string[];
  /** `required` (default): UV=0 is refused; `preferred`: accepted as one factor. */
  readonly userVerification: "required" | "preferred";
  /** `none` (default) or `direct`; `direct` whenever `aaguids` is not empty. */
  readonly attestation: "none" | "direct";
  /** Authenticator models allowed (lower-case AAGUIDs); empty: any. */
  readonly aaguids: readonly string[];
  /**
   * What a sign counter that did not grow does: `reject` (default) refuses the assertion, `lock`
   * also locks the credential until an administrator unlocks the principal, `warn` accepts it
   * with a warning.
   */
  readonly signCountPolicy: "reject" | "lock" | "warn";
}

/** A tenant's stored WebAuthn settings. */
export interface WebAuthnSettingsRecord extends WebAuthnSettings {
  readonly tenant: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** Where a hosted flow stands. */
export type FlowStatus =
  /** The user is being challenged. */
  | "pending"
  /** The requirement is met: a one-time code went back to `returnTo`. */
  | "completed"
  /** The platform exchanged the code for an assurance token: the flow is spent. */
  | "exchanged"
  /** The decision was `deny`: the user was told why. */
  | "denied";

/**
 * A visit to a hosted flow refused before it reached the flow: without (or with a wrong) opening
 * secret, from another browser than the one the flow is bound to, or a form without its CSRF
 * token. Each is also the audit event that records it.
 */
export type FlowRefusal = "flow.opening_refused" | "flow.browser_refused" | "flow.csrf_refused";

/** The audit event of a refused exchange of a flow's code, whose payload names its reason. */
export const EXCHANGE_REFUSED = "flow.exchange_refused";

/**
 * A kind of refusal whose audit rows a flow bounds: a refused visit (its audit event's type), a
 * refused exchange of its code, by reason and caller (`flow.exchange_refused:replayed:<key id>`),
 * or a refused sign-in at one of the tenant's IdPs, by IdP and reason
 * (`federation.rejected:corp:federation.idp_rebound`).
 */
export type FlowRefusalKind =
  FlowRefusal | `${typeof EXCHANGE_REFUSED}:${string}` | `federation.rejected:${string}`;

/**
 * A hosted challenge flow: one sign-in (or step-up) of one principal, created by the platform's
 * backend, walked by one browser, ending in a one-time code that the platform exchanges for an
 * assurance token. Changed only by compare-and-set on `version`, so that two tabs, two instances
 * or a replayed request cannot both move it on.
 */
export interface FlowRecord {
  /** `flw_…`, unguessable: it is part of the URL the browser is sent to. */
  readonly id: string;
  readonly tenant: string;
  readonly principal: string;
  /** The population to hold an unregistered principal to; a registered principal's wins. */
  readonly population?: Population;
  /** The API key that created the flow: only it may exchange the code. */
  readonly createdBy: string;
  /** The assurance token's `aud`. */
  readonly audience: string;
  /** The registered URL the user returns to, with `code` (and `state`) added. */
  readonly returnTo: string;
  /** The platform's own value, echoed back with the code so it can match its session. */
  readonly state?: string;
  /** More than the policy asks, for a sensitive action (REFEDS step-up). */
  readonly stepUp?: RequirementSpec;
  /** What the platform verified itself before creating the flow (its password check). */
  readonly firstFactor: readonly AuthenticationEvent[];
  /** What was verified in this flow, in order; each event was produced by a verifier. */
  readonly events: readonly AuthenticationEvent[];
  /**
   * An IdP's verified answer waiting for the flow's own browser: the answer reaches the ACS or
   * callback in whichever browser finished at the IdP, so it counts only once a visit with the
   * flow's cookie brings back the one-time id it was redirected with (SHA-256, hex, here).
   */
  readonly idpAnswer?: {
    readonly hash: string;
    readonly event: FederatedEvent;
    /**
     * The federation request the answer answered, and its IdP's protocol: what the audit event of
     * a refused claim names, as the ACS's or callback's does. Absent on answers held before they
     * were kept.
     */
    readonly request?: string;
    readonly protocol?: IdpRecord["protocol"];
    /**
     * The flow's count of withdrawals when the sign-in that produced the answer started: if the
     * principal's proofs were withdrawn since (the count moved on), the answer was verified, or
     * begun, before the withdrawal and counts for nothing when claimed.
     */
    readonly withdrawalsSeen?: number;
  };
  /**
   * SHA-256 (hex) of the secret that the flow's URL carries (`?open=`): the first visit must bring
   * it, so that knowing the flow's id (audit events, logs, the platform's records) is not enough
   * to take the flow before its user opens it. Absent on flows created before it was kept,
   * which open by their id alone.
   */
  readonly openingHash?: string;
  /** SHA-256 (hex) of the browser cookie that opened the flow first; later visits must match. */
  readonly browserHash?: string;
  /** Sent back with every form: a request without it is refused (CSRF). */
  readonly csrfToken: string;
  readonly status: FlowStatus;
  /** The receipt of the decision that completed or denied the flow. */
  readonly decision?: string;
  /** SHA-256 (hex) of the one-time code sent to `returnTo`. */
  readonly codeHash?: string;
  readonly codeExpiresAt?: string;
  /** The browser session whose evidence was reused, when the flow needed no new challenge. */
  readonly reusedSession?: string;
  /** Set when the user acknowledged a notice (exemption in force, report-only nudge). */
  readonly acknowledgedAt?: string;
  /**
   * How many times the principal's proofs were withdrawn while the flow was open (an
   * authenticator removed, recovery codes revoked or replaced): a verification that began before
   * the latest adds nothing. Absent: none.
   */
  readonly withdrawals?: number;
  /**
   * When the principal's proofs were withdrawn after the flow completed and before its code was
   * exchanged: the code then exchanges for nothing (`proofs_withdrawn`), since the token would
   * vouch for what the change withdrew.
   */
  readonly proofsWithdrawnAt?: string;
  /**
   * When a refusal of each kind was last audited for this flow: another of its kind is audited
   * only a minute later at the earliest, so that whoever holds the flow's id, or its code, cannot
   * grow the tenant's chain a row per request for the flow's whole life. Absent: none audited yet.
   */
  readonly refusalsAuditedAt?: Readonly<Partial<Record<FlowRefusalKind, string>>>;
  readonly createdAt: string;
  readonly updatedAt: string;
  /**
   * Until when the flow can be walked, and its row is kept (`FlowStore.purge`). Completion moves
   * it to the code's expiry when that is later, so that the code lives its whole minute.
   */
  readonly expiresAt: string;
  /** Starts at 1; each change adds one. */
  readonly version: number;
}

/**
 * A principal's recent verified evidence in one browser: a later flow for the same principal in
 * the same browser reuses it instead of challenging again, while it is fresh enough for the
 * effective requirement (re-authentication interval, maximum age, idle timeout).
 */
export interface BrowserSessionRecord {
  /** `ses_…`. */
  readonly id: string;
  readonly tenant: string;
  readonly principal: string;
  /** SHA-256 (hex) of the browser cookie. */
  readonly browserHash: string;
  /** The verified events (never the platform's first factor) that completed the last flow. */
  readonly events: readonly AuthenticationEvent[];
  readonly createdAt: string;
  /** The last flow completed with it: the idle timeout runs from here. */
  readonly lastActiveAt: string;
  /** A hard end, whatever the policy says. */
  readonly expiresAt: string;
}
