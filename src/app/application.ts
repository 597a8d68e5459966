import type { AuditCheckpoint } from "./audit/audit-checkpoints.js";
import type { ComplianceReport } from "./reports/compliance-report.js";
import type { JsonWebKeySet, PublishedSigningKey } from "./assurance/signing-keys.js";
import type { Decision } from "../core/decision.js";
import type {
  EnrolledAuthenticator,
  Evidence,
  RecoveryCodeEvent,
  TotpEvent,
  WebAuthnEvent,
} from "../core/evidence.js";
import type { IdpProfile } from "../core/input.js";
import type { PasswordEvent } from "../core/evidence.js";
import type { FLOW_RETURN_NOTICES, FlowScreen } from "./flows/flow-screens.js";
import type { ASSURANCE_TOKEN_TYPE } from "../core/assurance-claims.js";
import type { PlatformMandate, RequirementSpec, TenantPolicy } from "../core/policy.js";
import type { ExemptionCategory, Population, RiskLevel } from "../core/vocabulary.js";
import type { IdpAssuranceMapping } from "../core/idp-assurance.js";
import type { TotpAlgorithm } from "./authenticators/totp-protocol.js";
import type { WebAuthnOptionsJson } from "./authenticators/webauthn-protocol.js";
import type { AuditFilter, DamagedRow, ExemptionFilter, Page } from "./ports.js";
import type { SettingsPrecondition } from "./settings-precondition.js";
import type {
  ApiKeyRecord,
  AuditEvent,
  AuthenticatorRecord,
  ExemptionRecord,
  IdpRecord,
  IdpRequestValues,
  MandateVersionRecord,
  PolicyVersionRecord,
  PrincipalRecord,
  ReceiptRecord,
  Role,
  TenantRecord,
  WebAuthnCredentialRecord,
  WebAuthnSettings,
} from "./records.js";

/** Who is calling: an authenticated API key (or, later, an admin session). */
export interface Caller {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly Role[];
  readonly tenants: "all" | readonly string[];
  /** The person or system accountable for the credential; absent: the credential is its own. */
  readonly holder?: string;
  /** The assurance-token audiences this caller may ask for; absent: any. */
  readonly audiences?: readonly string[];
  /**
   * The client addresses this caller passes are the server's own observation of the end user's
   * request (`request.ip`, behind the configured trusted proxies), not the caller's word: a hosted
   * flow's. No API key sets it. They count platform-wide, whatever tenants the caller reaches
   * (`addressScopeOf` in verification-throttle.ts).
   */
  readonly observesClientAddress?: boolean;
}

/** Paging parameters. */
export interface PageRequest {
  readonly after?: string;
  readonly limit?: number;
}

/** A part of a tenant policy that a mandate overrides, returned as a warning on write. */
export interface Override {
  readonly part: string;
  readonly mandate: string;
  readonly message: string;
}

/** A policy version with the change it made to the previous one. */
export interface PolicyHistoryEntry extends PolicyVersionRecord {
  /** JSON-pointer paths that changed against the previous version, with before and after. */
  readonly diff: readonly { path: string; before?: unknown; after?: unknown }[];
}

/** A mandate as an administrator writes it: the version is assigned by the service. */
export type MandateInput = Omit<PlatformMandate, "id" | "version">;

/** A policy as an administrator writes it: tenant and version are assigned by the service. */
export type PolicyInput = Omit<TenantPolicy, "tenant" | "version">;

/** An exemption request. */
export interface ExemptionRequest {
  readonly principal: string;
  readonly category: ExemptionCategory;
  readonly justification: string;
  readonly owner: string;
  readonly startsAt: string;
  readonly expiresAt: string;
  readonly reviewAt: string;
  readonly renewalOf?: string;
}

/** An IdP as a tenant administrator registers it (`PUT /v1/tenants/:tenant/idps/:idp`). */
export interface IdpRegistration {
  readonly displayName?: string;
  readonly protocol: "saml" | "oidc";
  readonly saml?: {
    /** IdP metadata XML; values given below override what it says. */
    readonly metadataXml?: string;
    readonly entityId?: string;
    readonly ssoUrl?: string;
    readonly signingCertificates?: readonly string[];
    readonly allowUnsolicited?: boolean;
    readonly subjectAttribute?: string;
    /**
     * The NameID Format to ask the IdP for: `persistent`, `emailAddress`, `unspecified`, or a
     * full URI. Absent: none is asked (the IdP sends the one configured for this SP).
     */
    readonly nameIdFormat?: string;
  };
  readonly oidc?: {
    readonly issuer: string;
    readonly clientId: string;
    /** Required when registering; when replacing, omit it to keep the stored one. */
    readonly clientSecret?: string;
    readonly scopes?: readonly string[];
    readonly idTokenAlgorithms?: readonly string[];
    readonly subjectClaim?: string;
  };
  readonly request?: Partial<IdpRequestValues>;
  readonly mapping?: Partial<IdpAssuranceMapping>;
  readonly clockSkewSeconds?: number;
  readonly maxAuthenticationAgeSeconds?: number;
}

/** An IdP as the API shows it: secrets never leave the store, even sealed. */
export type IdpView = DistributiveOmit<IdpRecord, "oidc"> & {
  readonly oidc?: Omit<Extract<IdpRecord, { protocol: "oidc" }>["oidc"], "sealedClientSecret"> & {
    readonly clientSecretSet: true;
  };
  /** Where this IdP must send its answers, for the IdP administrator. */
  readonly endpoints: {
    readonly samlMetadata?: string;
    readonly samlAcs?: string;
    readonly oidcRedirectUri?: string;
    readonly start: string;
  };
};

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A stored decision as the API shows it: the receipt, and the id of the `decision.recorded`
 * audit event that binds it to the tenant's chain (`evt_<decision id>`), or null when no event
 * records it (a receipt stored before receipts were bound, or one whose event is gone): such a
 * receipt rests on the store's word alone, and `audit verify` reports it.
 */
export type ReceiptView = ReceiptRecord & { readonly recordedBy: string | null };

/** A TOTP authenticator as the API shows it: never its secret (not even sealed) nor its last step. */
export type TotpAuthenticatorView = Omit<AuthenticatorRecord, "sealedSecret" | "lastStep"> & {
  /**
   * A pending one's: until when it may be confirmed (`totp.enrolmentTtlSeconds` after it
   * began). Past it, it is refused (`authenticator.enrolment_expired`) and removed, and no longer
   * listed.
   */
  readonly expiresAt?: string;
};

/** A WebAuthn credential as the API shows it: its public key stays in the store. */
export type WebAuthnAuthenticatorView = Omit<
  WebAuthnCredentialRecord,
  "publicKey" | "attestationRoot" | "cloneSuspectedAt"
> & {
  readonly kind: "webauthn";
  readonly status: "active";
  /**
   * Whether its attestation chained to a root that the operator still trusts: hardware of the
   * model its AAGUID names. Only such a credential reaches AAL3 (it must also be BE=0).
   */
  readonly attested: boolean;
  /**
   * When the key last gave a clone signal (a signature counter that did not grow), while it
   * stands: until its next verification whose counter grows. Null when none stands.
   */
  readonly cloneSuspectedAt: string | null;
  /**
   * Whether it counts as attested hardware in decisions now: `attested`, and no clone signal
   * standing. What it proved, before or now, counts as a passkey that is not attested otherwise.
   */
  readonly countsAsAttested: boolean;
};

/** An authenticator as the API shows it; `kind` tells TOTP from WebAuthn. */
export type AuthenticatorView = TotpAuthenticatorView | WebAuthnAuthenticatorView;

/** A tenant's WebAuthn settings as an administrator writes them; omitted parts take defaults. */
export interface WebAuthnSettingsInput {
  readonly rpId: string;
  readonly rpName?: string;
  readonly origins: readonly string[];
  readonly userVerification?: WebAuthnSettings["userVerification"];
  readonly attestation?: WebAuthnSettings["attestation"];
  readonly aaguids?: readonly string[];
  readonly signCountPolicy?: WebAuthnSettings["signCountPolicy"];
}

/** The WebAuthn settings in force for a tenant: its own, or the defaults from the public URL. */
export interface WebAuthnSettingsView extends WebAuthnSettings {
  readonly tenant: string;
  readonly source: "tenant" | "default";
  readonly updatedAt?: string;
  readonly updatedBy?: string;
}

/** A WebAuthn ceremony begun: its id, the options for the browser, and when it expires. */
export interface WebAuthnCeremonyStart {
  readonly options: WebAuthnOptionsJson;
  readonly expiresAt: string;
}

/** A warning that came with an accepted assertion (a sign counter that went backwards, under `warn`). */
export interface WebAuthnWarning {
  readonly code: "webauthn.clone_suspected";
  readonly message: string;
}

/** A verified assertion: the event for the decision's evidence, and the credential used. */
export interface WebAuthnAuthentication {
  readonly event: WebAuthnEvent;
  readonly authenticator: WebAuthnAuthenticatorView;
  readonly warnings?: readonly WebAuthnWarning[];
}

/** A TOTP enrolment just begun: the secret is shown here once, and never again. */
export interface TotpEnrolment {
  readonly authenticator: TotpAuthenticatorView;
  /** The secret, base32, for manual entry. */
  readonly secret: string;
  /** The `otpauth://totp/…` key URI. */
  readonly uri: string;
  /** The key URI as a QR code (SVG). */
  readonly qrSvg: string;
}

/** What a TOTP enrolment may choose; SHA-1, 6 digits and 30 s by default. */
export interface TotpEnrolmentRequest {
  readonly name?: string;
  readonly algorithm?: TotpAlgorithm;
  readonly digits?: 6 | 8;
}

/** A new set of recovery codes: the codes are shown here once, and never again. */
export interface RecoveryCodeIssue {
  /** Ten codes, five groups of four base32 characters (`7KQ2-M9XD-…`); each works once. */
  readonly codes: readonly string[];
  readonly createdAt: string;
}

/** What the API tells of a principal's recovery codes: counts and times, never a code. */
export interface RecoveryCodeStatusView {
  /** Whether the principal holds a set at all. */
  readonly enrolled: boolean;
  readonly total: number;
  readonly remaining: number;
  readonly failedAttempts: number;
  readonly createdAt?: string;
  readonly lastUsedAt?: string;
  readonly lockedAt?: string;
}

/** Tells the principal to generate new codes: few or none are left (SP 800-63B-4: replace after use). */
export interface RecoveryCodeNotice {
  readonly code: "recovery_codes.running_low" | "recovery_codes.exhausted";
  readonly message: string;
}

/** A recovery code accepted: the event for the decision's evidence and how many are left. */
export interface RecoveryCodeUse {
  readonly event: RecoveryCodeEvent;
  readonly remaining: number;
  /** Present when three or fewer codes remain. */
  readonly notice?: RecoveryCodeNotice;
}

/** A code submitted for verification, and where the end user submitted it from. */
export interface CodeSubmission {
  readonly code: string;
  /**
   * The end user's IP address as the platform saw it: failures are limited per address too
   * (credential stuffing). Without it only the principal's limit applies.
   */
  readonly clientAddress?: string | undefined;
}

/** A WebAuthn assertion submitted for verification, and where the end user submitted it from. */
export interface AssertionSubmission {
  /** The browser's `AuthenticationResponseJSON`. */
  readonly response: unknown;
  /** As in {@link CodeSubmission}. */
  readonly clientAddress?: string | undefined;
}

/** What an administrator's unlock lifted. */
export interface UnlockResult {
  readonly principal: string;
  /** The principal was locked by too many failures in a row. */
  readonly wasLocked: boolean;
  /** The principal's failures in a row before the unlock. */
  readonly failedAttempts: number;
  /** The authenticators (TOTP and WebAuthn) whose failure lock or count was lifted. */
  readonly authenticators: readonly string[];
  /** Present when the recovery-code set's lock or failure count was lifted: what it was. */
  readonly recoveryCodes?: {
    readonly set: string;
    readonly wasLocked: boolean;
    readonly failedAttempts: number;
  };
}

/** Where a federation endpoint sends the browser next. */
export interface FederationRedirect {
  readonly location: string;
}

/** What the platform's backend sends to have a sign-in decided. */
export interface DecisionRequest {
  readonly principal: {
    readonly id: string;
    /** Used when the principal is not registered; a registered principal's population wins. */
    readonly population?: Population;
    readonly authenticators?: readonly EnrolledAuthenticator[];
  };
  readonly evidence: Evidence;
  readonly risk?: RiskLevel;
  readonly stepUp?: RequirementSpec;
  readonly lastActivityAt?: string;
  readonly idps?: readonly IdpProfile[];
}

/** What the platform's backend sends to start a hosted flow (`POST /v1/tenants/:tenant/flows`). */
export interface FlowRequest {
  readonly principal: {
    readonly id: string;
    /** Used when the principal is not registered; a registered principal's population wins. */
    readonly population?: Population;
  };
  /** What the platform verified itself before sending the user (its password check); may be empty for SSO users. */
  readonly verified?: readonly PasswordEvent[];
  /** Where the user returns with the one-time code: must match a registered return URL. */
  readonly returnTo: string;
  /** Echoed back beside the code, so that the platform can match the answer to its session. */
  readonly state?: string;
  /** The assurance token's `aud`; by default the id of the API key that created the flow. */
  readonly audience?: string;
  /** More than the policy asks, for a sensitive action: the flow challenges only for the difference. */
  readonly stepUp?: RequirementSpec;
  /** How long the user has, in seconds (default 600, at most 3600). */
  readonly ttlSeconds?: number;
}

/** A flow created: where to send the user. */
export interface FlowStart {
  readonly flow: string;
  /**
   * `PUBLIC_URL/t/:tenant/flows/:flow?open=…`: the flow's page with the secret its first visit
   * must bring. The id alone does not open the flow.
   */
  readonly url: string;
  readonly expiresAt: string;
}

/** A one-time code exchanged (`POST /v1/flows/exchange`): the signed assurance token. */
export interface FlowExchange {
  /** A JWT, verifiable with the keys at `/.well-known/jwks.json`. */
  readonly token: string;
  readonly tokenType: typeof ASSURANCE_TOKEN_TYPE;
  readonly expiresIn: number;
  readonly tenant: string;
  readonly principal: string;
  /** The receipt behind the token. */
  readonly decision: string;
}

/** The browser a hosted-flow request came from. */
export interface FlowBrowser {
  /** The browser cookie's value; the HTTP layer sets a fresh random one when there is none. */
  readonly cookie: string;
  /** The end user's IP address, for per-client throttling. */
  readonly clientAddress?: string | undefined;
}

/** A form submitted on a hosted flow page; `csrf` is the frame's token. */
export type FlowAction = { readonly csrf: string } & (
  | { readonly kind: "verify_totp"; readonly authenticator: string; readonly code: string }
  | { readonly kind: "verify_recovery_code"; readonly code: string }
  | { readonly kind: "verify_webauthn"; readonly ceremony: string; readonly response: unknown }
  | { readonly kind: "enroll_totp" }
  | { readonly kind: "confirm_totp"; readonly authenticator: string; readonly code: string }
  | { readonly kind: "enroll_webauthn" }
  | {
      readonly kind: "register_webauthn";
      readonly ceremony: string;
      readonly response: unknown;
      readonly name?: string;
    }
  | { readonly kind: "idp"; readonly idp: string }
  /** Acknowledges a notice (an exemption in force, the report-only nudge) and goes on. */
  | { readonly kind: "continue" }
);

/** The result of verifying the audit chains. */
export interface AuditVerification {
  readonly ok: boolean;
  readonly chains: number;
  readonly events: number;
  /** The first broken link, if any. */
  readonly broken?: {
    readonly chain: string;
    readonly seq: number;
    /**
     * `truncated`: the recorded head and the last event disagree; `missing`: a chain that should
     * be there has no recorded head (an existing tenant's chain whose events or head row were
     * deleted, or a chain that still holds events after its head row, and perhaps its tenant's
     * row, were deleted);
     * `unexpected_first_event`: a tenant's chain does not start with its `tenant.created` event;
     * `checkpoint_mismatch`: the event a checkpoint names is gone or holds another hash (history
     * was rewritten since the checkpoint, hashes and head recomputed with it);
     * `receipt_missing`: a `decision.recorded` event names a receipt that is not stored;
     * `receipt_mismatch`: the stored receipt is not the one its event recorded (its digest, or for
     * events recorded before receipts were bound, its tenant or outcome, differs);
     * `receipt_unrecorded`: the tenant holds more receipts than its chain records (`seq` is the
     * head's);
     * `tenant_missing`: the platform chain recorded the tenant's creation, and its row is gone
     * (its chain gone too: `missing`).
     */
    readonly problem:
      | "hash_mismatch"
      | "prev_hash_mismatch"
      | "gap"
      | "reordered"
      | "truncated"
      | "missing"
      | "unexpected_first_event"
      | "checkpoint_mismatch"
      | "receipt_missing"
      | "receipt_mismatch"
      | "receipt_unrecorded"
      | "tenant_missing";
  };
  /**
   * The checkpoint verified against, when one was given and its event matched, with the issuer
   * (`iss`, the signing server's publicUrl) it names.
   */
  readonly checkpoint?: { readonly chain: string; readonly seq: number; readonly issuer: string };
  /**
   * Rows of the other tables that verification reads holding text that is not JSON, which the
   * store never writes: altered outside the service. Every chain verified reads the API keys,
   * tenants, mandate versions and signing keys, and every tenant's policy versions, IdP
   * registrations and observations, WebAuthn credentials and settings; one tenant's chain
   * verified reads that tenant's row and its rows of those tables, never another tenant's (and
   * the signing keys, when a checkpoint is checked with the store's keys). Every such row, by
   * table and id, in that order, up to the first 100 of each table (the rest counted in
   * `damagedUnlisted`); only when there is one, and `ok` is false then. The chains are verified
   * all the same; a checkpoint that only the store's keys could confirm, one of them damaged, is
   * not confirmed (no `checkpoint`).
   */
  readonly damaged?: readonly DamagedRow[];
  /** By table, how many damaged rows `damaged` leaves out; only when it leaves one out. */
  readonly damagedUnlisted?: Readonly<Partial<Record<DamagedRow["table"], number>>>;
}

/** The use cases, each checking the caller's role and tenant first. */
export interface Application {
  /** Resolves an API key secret to its caller, or throws `auth.invalid_credentials`. */
  authenticate(secret: string): Promise<Caller>;

  readonly apiKeys: {
    create(
      caller: Caller,
      input: {
        name: string;
        roles: readonly Role[];
        tenants: "all" | readonly string[];
        expiresAt?: string;
        holder?: string;
        audiences?: readonly string[];
      },
    ): Promise<{ key: ApiKeyRecord; secret: string }>;
    list(caller: Caller): Promise<readonly ApiKeyRecord[]>;
    revoke(caller: Caller, id: string): Promise<void>;
  };

  readonly tenants: {
    create(
      caller: Caller,
      input: { id: string; name: string; returnUrls?: readonly string[] },
    ): Promise<TenantRecord>;
    get(caller: Caller, tenant: string): Promise<TenantRecord>;
    list(caller: Caller, page: PageRequest): Promise<Page<TenantRecord>>;
    /**
     * Sets (or, with null, removes) the logo shown on the tenant's hosted pages; with `ifMatch`,
     * only while the tenant is as tagged (`tenant.settings_conflict` otherwise).
     */
    setBranding(
      caller: Caller,
      tenant: string,
      input: { logoUrl: string | null },
      options?: { ifMatch?: SettingsPrecondition | undefined },
    ): Promise<TenantRecord>;
    /**
     * Replaces the URLs that sign-in flows may return to (DESIGN invariant 10); with `ifMatch`,
     * only while the tenant is as tagged (`tenant.settings_conflict` otherwise).
     */
    setReturnUrls(
      caller: Caller,
      tenant: string,
      input: { returnUrls: readonly string[] },
      options?: { ifMatch?: SettingsPrecondition | undefined },
    ): Promise<TenantRecord>;
  };

  readonly idps: {
    /**
     * Registers (no `ifMatch`) or replaces (`ifMatch` = the current version) an IdP.
     * Returns the view and whether it was created.
     */
    put(
      caller: Caller,
      tenant: string,
      id: string,
      input: { registration: IdpRegistration; ifMatch: number | undefined },
    ): Promise<{ idp: IdpView; created: boolean }>;
    get(caller: Caller, tenant: string, id: string): Promise<IdpView>;
    list(caller: Caller, tenant: string): Promise<readonly IdpView[]>;
    /**
     * Removes the IdP; with `ifMatch`, only while its registration is at that version
     * (`idp.version_conflict` otherwise), as a replacement does.
     */
    remove(
      caller: Caller,
      tenant: string,
      id: string,
      options?: { ifMatch?: number | undefined },
    ): Promise<void>;
  };

  /**
   * The browser-facing federation endpoints: no API key, the browser carries the protocol
   * messages. Every answer is verified; every refusal is audited.
   */
  readonly federation: {
    samlMetadata(tenant: string, idp: string): Promise<string>;
    start(
      tenant: string,
      idp: string,
      input: {
        returnTo: string;
        principal?: string;
        force?: boolean;
        /** The hosted flow the sign-in is for: the answer goes back to it (flows only). */
        flow?: string;
        /**
         * The flow's count of withdrawals of the principal's proofs now (flows only): the answer
         * counts for the flow only if none happens before it is claimed.
         */
        flowWithdrawals?: number;
        /** What the flow's decision asks of this IdP (flows only): replaces the policy's plan. */
        ask?: {
          readonly acrValues: readonly string[];
          readonly maxAgeSeconds: number | null;
          readonly forceAuthn: boolean;
        };
        /** The browser's client address: its share of the refusal budget (see samlResponse). */
        clientAddress?: string | undefined;
        /**
         * The browser cookie's value (the HTTP layer sets a fresh random one when there is none).
         * A direct start (no `flow`) needs it: its answer counts only in this browser (login
         * CSRF); only its SHA-256 is stored. A flow's start binds nothing: the flow does.
         */
        browser?: string;
      },
    ): Promise<FederationRedirect>;
    /**
     * `clientAddress`, when known, is where the answer came from: of the refusals audited one by
     * one per tenant, IdP and minute, one address gets a share only, its further ones counted.
     */
    samlResponse(
      tenant: string,
      idp: string,
      input: { samlResponse: string; relayState?: string; clientAddress?: string | undefined },
    ): Promise<FederationRedirect>;
    /**
     * Completes a direct SAML sign-in whose verified answer the ACS held (it redirected here with
     * the one-time `answer` id): only in the browser whose cookie (`browser`) started the
     * sign-in, once. `clientAddress`: as for samlResponse.
     */
    samlCompletion(
      tenant: string,
      idp: string,
      input: { answer: string; browser?: string | undefined; clientAddress?: string | undefined },
    ): Promise<FederationRedirect>;
    /**
     * `browser`: the browser cookie's value, if the callback came with one; a direct sign-in's
     * answer counts only in the browser that started it. `clientAddress`: as for samlResponse.
     */
    oidcCallback(
      tenant: string,
      idp: string,
      input: {
        callbackUrl: string;
        state?: string;
        browser?: string | undefined;
        clientAddress?: string | undefined;
      },
    ): Promise<FederationRedirect>;
  };

  /**
   * A principal's authenticators on the platform, used by the platform's backend on the
   * principal's behalf. Each accepted TOTP step is accepted once; every change is audited.
   */
  readonly authenticators: {
    /** Oldest first; a pending TOTP enrolment past its `expiresAt` is left out. */
    list(caller: Caller, tenant: string, principal: string): Promise<readonly AuthenticatorView[]>;
    /**
     * Begins a TOTP enrolment: a pending authenticator, its secret shown once, confirmable until
     * its `expiresAt`. The principal's enrolments that expired unconfirmed are removed, and so
     * are the oldest still waiting beyond `MAX_PENDING_ENROLMENTS` (`pending-enrolments.ts`).
     */
    beginTotp(
      caller: Caller,
      tenant: string,
      principal: string,
      input: TotpEnrolmentRequest,
    ): Promise<TotpEnrolment>;
    /**
     * Confirms a pending TOTP authenticator with a first valid code; it then counts. On the
     * principal's behalf, a method bound since the enrolment began calls for a fresh MFA first
     * (`authenticator.fresh_mfa_required`), as beginning one would now. An enrolment is confirmed
     * only until its `expiresAt`; later it is removed (`authenticator.enrolment_expired`).
     */
    confirmTotp(
      caller: Caller,
      tenant: string,
      principal: string,
      id: string,
      input: CodeSubmission,
    ): Promise<AuthenticatorView>;
    /** Verifies a code; on success returns the TOTP event for the decision's evidence. */
    verifyTotp(
      caller: Caller,
      tenant: string,
      principal: string,
      id: string,
      input: CodeSubmission,
    ): Promise<{ event: TotpEvent; authenticator: AuthenticatorView }>;
    /**
     * Removes an authenticator. The platform's backend needs a fresh MFA of the principal;
     * nobody removes the last active method while policy requires MFA of the principal.
     */
    remove(caller: Caller, tenant: string, principal: string, id: string): Promise<void>;
    /**
     * Lifts the principal's verification lock and backoff and the failure locks and counts of its
     * TOTP authenticators, WebAuthn credentials and recovery codes (administrators only),
     * audited with who, why and what was lifted.
     */
    unlock(
      caller: Caller,
      tenant: string,
      principal: string,
      input?: { reason?: string | undefined },
    ): Promise<UnlockResult>;
  };

  /**
   * A principal's recovery codes (saved look-up secrets), used by the platform's backend on the
   * principal's behalf: ten single-use codes, stored as salted hashes, shown once; every use,
   * failure, replacement and revocation is audited, never with a code.
   */
  readonly recoveryCodes: {
    /** Issues ten new codes, replacing the principal's earlier set (its codes stop working). */
    generate(caller: Caller, tenant: string, principal: string): Promise<RecoveryCodeIssue>;
    status(caller: Caller, tenant: string, principal: string): Promise<RecoveryCodeStatusView>;
    /**
     * Accepts an unused code of the principal's set once; on success the event for evidence.
     * Throttled per principal (with every other method) and per client address.
     */
    verify(
      caller: Caller,
      tenant: string,
      principal: string,
      input: CodeSubmission,
    ): Promise<RecoveryCodeUse>;
    /** Deletes the set, its codes and its failure count (this lifts a lock). */
    revoke(caller: Caller, tenant: string, principal: string): Promise<void>;
  };

  /**
   * WebAuthn (passkeys and security keys) for a principal, used by the platform's backend on the
   * principal's behalf; the tenant's relying party set by its administrators. Challenges are
   * server-side and used once; every outcome is audited, never with a challenge, signature or key.
   */
  readonly webauthn: {
    /** The settings in force: the tenant's, or the defaults derived from the public URL. */
    settings(caller: Caller, tenant: string): Promise<WebAuthnSettingsView>;
    /**
     * Replaces the tenant's settings; with `ifMatch`, only while those in force are as tagged
     * (`webauthn.settings_conflict` otherwise). Answers them as stored.
     */
    putSettings(
      caller: Caller,
      tenant: string,
      input: WebAuthnSettingsInput,
      options?: { ifMatch?: SettingsPrecondition | undefined },
    ): Promise<WebAuthnSettingsView>;
    /**
     * Begins a passkey registration. `attestation: "direct"` asks the authenticator for its
     * attestation where the tenant's settings do not: a registration meant to reach AAL3, which
     * only a verified attestation can prove (on a server with attestation roots; without any, it
     * is not asked for). Nothing asks for less than the settings.
     */
    beginRegistration(
      caller: Caller,
      tenant: string,
      principal: string,
      options?: { readonly attestation?: "direct" },
    ): Promise<WebAuthnCeremonyStart & { readonly registration: string }>;
    /**
     * Finishes a passkey registration. On the principal's behalf, a method bound since the
     * ceremony began calls for a fresh MFA first (`authenticator.fresh_mfa_required`).
     */
    finishRegistration(
      caller: Caller,
      tenant: string,
      principal: string,
      registration: string,
      input: { response: unknown; name?: string },
    ): Promise<WebAuthnAuthenticatorView>;
    beginAuthentication(
      caller: Caller,
      tenant: string,
      principal: string,
    ): Promise<WebAuthnCeremonyStart & { readonly authentication: string }>;
    /**
     * Verifies an assertion; on success returns the WebAuthn event for the decision's evidence.
     * Throttled per principal (with every other method) and per client address.
     */
    finishAuthentication(
      caller: Caller,
      tenant: string,
      principal: string,
      authentication: string,
      input: AssertionSubmission,
    ): Promise<WebAuthnAuthentication>;
  };

  readonly policies: {
    current(
      caller: Caller,
      tenant: string,
    ): Promise<{ record: PolicyVersionRecord; overrides: readonly Override[] }>;
    /** Optimistic concurrency: `ifMatch` must equal the current version (0 when there is none). */
    replace(
      caller: Caller,
      tenant: string,
      input: { policy: PolicyInput; rationale: string; ifMatch: number | undefined },
    ): Promise<{ record: PolicyVersionRecord; overrides: readonly Override[] }>;
    history(caller: Caller, tenant: string, page: PageRequest): Promise<Page<PolicyHistoryEntry>>;
    /** Rolls back to `toVersion` by writing it again as a new version. */
    rollback(
      caller: Caller,
      tenant: string,
      input: { toVersion: number; rationale: string; ifMatch: number | undefined },
    ): Promise<{ record: PolicyVersionRecord; overrides: readonly Override[] }>;
  };

  readonly mandates: {
    create(
      caller: Caller,
      input: { id: string; mandate: MandateInput; rationale: string },
    ): Promise<MandateVersionRecord>;
    update(
      caller: Caller,
      id: string,
      /** `ifMatch`: the version being replaced (`If-Match`); required. */
      input: { mandate: MandateInput; rationale: string; ifMatch: number | undefined },
    ): Promise<MandateVersionRecord>;
    /** `ifMatch`: the version being retired (`If-Match`); required. */
    retire(
      caller: Caller,
      id: string,
      input: { rationale: string; ifMatch: number | undefined },
    ): Promise<MandateVersionRecord>;
    get(caller: Caller, id: string): Promise<MandateVersionRecord>;
    list(caller: Caller): Promise<readonly MandateVersionRecord[]>;
  };

  readonly principals: {
    upsert(
      caller: Caller,
      tenant: string,
      id: string,
      input: {
        externalId?: string;
        population: Population;
        displayName?: string;
        /**
         * Marks (true) or unmarks (false) a shared login; absent keeps the mark as it is. Only a
         * platform administrator lifts it (`principal.shared_login_locked`).
         */
        sharedLogin?: boolean;
        /**
         * Binds the principal to one of the tenant's IdPs (only its answers sign it in); null
         * unbinds; absent keeps the binding as it is. Naming the IdP it is bound to already keeps
         * the binding as made, at the issuer or entity id of then.
         */
        idp?: string | null;
        /**
         * With `idp` naming the IdP the principal is bound to already: binds it again at the
         * issuer or entity id registered now. Only with `idp` (else `request.invalid`).
         */
        rebind?: boolean;
      },
    ): Promise<PrincipalRecord>;
    get(caller: Caller, tenant: string, id: string): Promise<PrincipalRecord>;
    list(caller: Caller, tenant: string, page: PageRequest): Promise<Page<PrincipalRecord>>;
  };

  readonly exemptions: {
    request(caller: Caller, tenant: string, input: ExemptionRequest): Promise<ExemptionRecord>;
    approve(caller: Caller, tenant: string, id: string): Promise<ExemptionRecord>;
    reject(
      caller: Caller,
      tenant: string,
      id: string,
      input: { reason: string },
    ): Promise<ExemptionRecord>;
    revoke(
      caller: Caller,
      tenant: string,
      id: string,
      input: { reason: string },
    ): Promise<ExemptionRecord>;
    get(caller: Caller, tenant: string, id: string): Promise<ExemptionRecord>;
    list(
      caller: Caller,
      tenant: string,
      filter: ExemptionFilter,
      page: PageRequest,
    ): Promise<Page<ExemptionRecord>>;
  };

  readonly decisions: {
    /** Evaluates, stores the receipt and its audit event together, and returns the decision. */
    decide(caller: Caller, tenant: string, request: DecisionRequest): Promise<Decision>;
    receipt(caller: Caller, id: string): Promise<ReceiptView>;
  };

  readonly reports: {
    /**
     * Tenant `tenant`'s compliance report (its administrators and auditors): the policy and the
     * mandates that bind it now, its principals' platform MFA enrolment, the exemptions due for
     * review, and the decisions recorded from `from` (default: 30 days before `to`) to `to`
     * (default: now), at most 366 days. Read page by page from the store as it stands; an
     * audit event that cannot be read answers `audit.chain_damaged`.
     */
    compliance(
      caller: Caller,
      tenant: string,
      options: { from?: string; to?: string; dueWithinDays?: number },
    ): Promise<ComplianceReport>;
  };

  readonly audit: {
    /**
     * A page of one chain's events, in order: tenant `tenant`'s (its auditors and
     * administrators), or with `null` the platform's (platform administrators). An event whose
     * stored text is not JSON answers `audit.chain_damaged`: the chain was altered outside the
     * service, and `verify` finds where.
     */
    list(
      caller: Caller,
      tenant: string | null,
      filter: AuditFilter,
      page: PageRequest,
    ): Promise<Page<AuditEvent>>;
    /**
     * Verifies one tenant's chain, or (platform admins) every chain; with a `checkpoint` (see
     * {@link Application.audit.checkpoint}), also that the event it names is still the one it
     * was, or `audit.checkpoint_invalid` when it was not signed for a chain in scope by
     * `checkpointKey` (the public key kept beside it) or, without that, by a key of the store.
     */
    verify(
      caller: Caller,
      scope: { tenant?: string; checkpoint?: string; checkpointKey?: unknown },
      onProgress?: (done: number) => void,
    ): Promise<AuditVerification>;
    /**
     * A signed checkpoint of one tenant's chain at its head (its auditors and administrators), or
     * of the platform chain (platform administrators), for an auditor to keep outside the
     * operator's reach and verify against later.
     */
    checkpoint(caller: Caller, scope: { tenant?: string }): Promise<AuditCheckpoint>;
  };

  /** Assurance tokens: the keys that verify them, and their rotation. */
  readonly assurance: {
    /** The JWK Set served at `/.well-known/jwks.json`: public, no caller. */
    jwks(): Promise<JsonWebKeySet>;
    /**
     * The keys the JWK Set holds now and what each does (platform administrators): what a
     * compromised rotation would withdraw, for an operator to confirm. Makes no key.
     */
    publishedSigningKeys(caller: Caller): Promise<readonly PublishedSigningKey[]>;
    /**
     * Rotates the signing key now (platform administrators). `compromised` withdraws every
     * published key at once, so that tokens they signed stop verifying; given `confirmed` (the
     * kids of {@link publishedSigningKeys} an operator confirmed), it is refused, nothing
     * changed, when another key is published now (`signing_key.published_changed`).
     */
    rotateSigningKey(
      caller: Caller,
      options: { compromised?: boolean; confirmed?: readonly string[] },
    ): Promise<{ kid: string }>;
  };

  /**
   * Hosted challenge flows: the platform's backend creates one and exchanges its code; the
   * browser walks it. Flows expire, are used once and are bound to the browser that opened them
   * first; every step is audited.
   */
  readonly flows: {
    create(caller: Caller, tenant: string, request: FlowRequest): Promise<FlowStart>;
    /** The code from `return_to`, once, by the API key that created the flow. */
    exchange(caller: Caller, input: { code: string }): Promise<FlowExchange>;
    /**
     * The screen for a visit; the first visit, with the flow's opening secret, binds the flow to
     * the browser (the hosted pages bind through {@link enter}, and show only what follows).
     * `notice` is what the browser came back with from the IdP, shown on a challenge.
     */
    show(
      tenant: string,
      flow: string,
      browser: FlowBrowser,
      options?: {
        notice?: (typeof FLOW_RETURN_NOTICES)[number];
        /** The one-time id an IdP's answer sent the browser back with. */
        answer?: string;
        /** The opening secret the flow's URL carries: the first visit must bring it. */
        opening?: string;
      },
    ): Promise<FlowScreen>;
    /**
     * The visit of the URL the flow was created with, which carries its opening secret
     * (`opening`, absent when the URL's was unreadable): binds the flow to the browser as
     * {@link show}'s first visit does, with the same checks, refusals and audit, and answers with
     * a redirect to the flow's own URL, without the secret, whose visit needs the browser's
     * cookie alone: the secret, which opens nothing once the flow is bound, leaves the address
     * bar, the history and the page's Referer. A browser the flow is bound to already is sent
     * there too, whatever it brought.
     */
    enter(
      tenant: string,
      flow: string,
      browser: FlowBrowser,
      opening?: string,
    ): Promise<FlowScreen>;
    /** A form submitted on a flow page; answers with the next screen (often a redirect to it). */
    act(
      tenant: string,
      flow: string,
      browser: FlowBrowser,
      action: FlowAction,
    ): Promise<FlowScreen>;
    /** Options for the page's WebAuthn ceremony (JSON, fetched by its script). */
    webauthnOptions(
      tenant: string,
      flow: string,
      browser: FlowBrowser,
      input: { csrf: string; purpose: "registration" | "authentication" },
    ): Promise<{ ceremony: string; options: WebAuthnOptionsJson }>;
  };

  /** Resolves when the store is reachable. */
  ready(): Promise<void>;
}
