import type { ColumnType } from "kysely";

/**
 * The tables as Kysely sees them. JSON documents are TEXT and times are ISO 8601 UTC TEXT in both
 * dialects, so one set of queries serves SQLite and PostgreSQL alike.
 */
export interface Database {
  tenants: TenantsTable;
  policy_versions: PolicyVersionsTable;
  mandate_versions: MandateVersionsTable;
  principals: PrincipalsTable;
  exemptions: ExemptionsTable;
  receipts: ReceiptsTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  audit_heads: AuditHeadsTable;
  idps: IdpsTable;
  idp_observations: IdpObservationsTable;
  federation_requests: FederationRequestsTable;
  federation_answers: FederationAnswersTable;
  one_time_proofs: OneTimeProofsTable;
  authenticators: AuthenticatorsTable;
  webauthn_credentials: WebAuthnCredentialsTable;
  webauthn_challenges: WebAuthnChallengesTable;
  webauthn_settings: WebAuthnSettingsTable;
  recovery_code_sets: RecoveryCodeSetsTable;
  recovery_codes: RecoveryCodesTable;
  signing_keys: SigningKeysTable;
  verification_throttles: VerificationThrottlesTable;
  flows: FlowsTable;
  browser_sessions: BrowserSessionsTable;
}

export interface TenantsTable {
  id: string;
  name: string;
  created_at: string;
  /** JSON array of absolute URLs. */
  return_urls: string;
  logo_url: string | null;
}

export interface PolicyVersionsTable {
  tenant: string;
  version: number;
  policy: string;
  rationale: string;
  actor: string;
  created_at: string;
  rollback_of: number | null;
}

export interface MandateVersionsTable {
  id: string;
  version: number;
  mandate: string;
  status: string;
  rationale: string;
  actor: string;
  created_at: string;
}

export interface PrincipalsTable {
  tenant: string;
  id: string;
  external_id: string | null;
  population: string;
  display_name: string | null;
  /** 1 for a login several people share (seed 001). */
  shared_login: number;
  /** The one IdP whose answers may sign the principal in (since 0019); null: any. */
  idp: string | null;
  /** The issuer or entity id `idp` was registered with when the binding was made (since 0025). */
  idp_issuer: string | null;
  created_at: string;
  updated_at: string;
  /**
   * When the principal's proofs were last withdrawn (since 0021); null: never. Only
   * `withdrawProofs` writes it: an upsert leaves it as it is.
   */
  proofs_withdrawn_at: ColumnType<string | null, never, string>;
  /**
   * The position in the tenant's audit chain of the withdrawal's event (since 0023); null: never
   * withdrawn, or withdrawn before 0023 (then only `proofs_withdrawn_at` says when). Written as
   * `proofs_withdrawn_at` is.
   */
  proofs_withdrawn_seq: ColumnType<number | null, never, number>;
}

export interface ExemptionsTable {
  tenant: string;
  id: string;
  principal: string;
  category: string;
  status: string;
  starts_at: string;
  expires_at: string;
  requested_by: string;
  approved_by: string | null;
  owner: string;
  justification: string;
  review_at: string;
  renewal_of: string | null;
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
}

export interface ReceiptsTable {
  id: string;
  tenant: string;
  principal: string;
  outcome: string;
  created_at: string;
  decision: string;
  input_summary: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  secret_hash: string;
  roles: string;
  tenants: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  holder: string | null;
  /** JSON list of assurance-token audiences, or null for any. */
  audiences: string | null;
}

export interface AuditEventsTable {
  chain: string;
  seq: number;
  id: string;
  tenant: string | null;
  type: string;
  actor: string;
  at: string;
  payload: string;
  prev_hash: string;
  hash: string;
}

/** One row per chain: the newest link, locked by appenders. `seq` 0 is "no link yet". */
export interface AuditHeadsTable {
  chain: string;
  seq: number;
  hash: string;
}

/**
 * A tenant's IdP: its settings as one JSON document (secrets inside are sealed), versioned. A
 * removed IdP stays as a tombstone (`removed` 1, document emptied) keeping its last version.
 */
export interface IdpsTable {
  tenant: string;
  id: string;
  protocol: string;
  document: string;
  version: number;
  created_at: string;
  updated_at: string;
  removed: number;
}

export interface IdpObservationsTable {
  tenant: string;
  idp: string;
  proving_mfa: number;
  unmapped_seen: string;
  updated_at: string;
}

/** Sign-ins sent to an IdP and not yet answered; kept until they expire. */
export interface FederationRequestsTable {
  id: string;
  tenant: string;
  idp: string;
  document: string;
  expires_at: string;
  consumed_at: string | null;
}

/** Verified SAML answers held for the browser that started their sign-in (since 0020). */
export interface FederationAnswersTable {
  /** SHA-256 (hex) of the one-time answer id. */
  hash: string;
  tenant: string;
  idp: string;
  document: string;
  expires_at: string;
  claimed_at: string | null;
}

export interface OneTimeProofsTable {
  scope: string;
  key: string;
  expires_at: string;
}

/** A principal's authenticators; the secret column holds only the sealed value. */
export interface AuthenticatorsTable {
  tenant: string;
  principal: string;
  id: string;
  kind: string;
  name: string;
  status: string;
  sealed_secret: string;
  algorithm: string;
  digits: number;
  period: number;
  last_step: number | null;
  failed_attempts: number;
  locked_at: string | null;
  created_at: string;
  confirmed_at: string | null;
  last_used_at: string | null;
}

/** A principal's current set of recovery codes: one row per principal, replaced in place. */
export interface RecoveryCodeSetsTable {
  tenant: string;
  principal: string;
  id: string;
  created_at: string;
  failed_attempts: number;
  locked_at: string | null;
  last_used_at: string | null;
}

/** The codes of the current sets: a locator and a salted password hash each, never the code. */
export interface RecoveryCodesTable {
  tenant: string;
  principal: string;
  set_id: string;
  locator: string;
  hash: string;
  used_at: string | null;
}

/** Assurance-token signing keys; the private JWK only sealed. */
export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  sealed_private_jwk: string;
  created_at: string;
  activates_at: string;
  successor_of: string | null;
  retires_at: string;
  removed_at: string;
}

/** Failed verifications, backoff and lock per tenant and throttle key. */
export interface VerificationThrottlesTable {
  tenant: string;
  throttle_key: string;
  consecutive_failures: number;
  next_attempt_at: string | null;
  locked_at: string | null;
  lock_expires_at: string | null;
  last_failure_at: string | null;
  last_success_at: string | null;
}

/** A principal's WebAuthn credentials; booleans as 0/1 in both dialects. */
export interface WebAuthnCredentialsTable {
  tenant: string;
  principal: string;
  id: string;
  credential_id: string;
  name: string;
  public_key: string;
  algorithm: number;
  /** bigint: PostgreSQL returns it as a string. */
  sign_count: number | string;
  /** JSON array of transport names. */
  transports: string;
  aaguid: string;
  backup_eligible: number;
  backup_state: number;
  device_type: string;
  user_verified: number;
  /** 1 when the attestation chained to a trusted root at registration (read: attestation_root). */
  attested: number;
  /** That root's SHA-256 fingerprint (since 0017); null: not attested. */
  attestation_root: string | null;
  /** When its last clone signal was, while it stands (since 0026); null: none. */
  clone_suspected_at: string | null;
  failed_attempts: number;
  locked_at: string | null;
  created_at: string;
  last_used_at: string | null;
}

/** WebAuthn ceremonies in progress: each row deleted when used. */
export interface WebAuthnChallengesTable {
  tenant: string;
  id: string;
  purpose: string;
  principal: string;
  challenge: string;
  created_at: string;
  expires_at: string;
}

/** A tenant's WebAuthn settings as one JSON document. */
export interface WebAuthnSettingsTable {
  tenant: string;
  document: string;
  updated_at: string;
  updated_by: string;
}

/**
 * Hosted flows: as columns what is selected or compared on, the rest of the record as one JSON
 * document. `version` is the compare-and-set counter; `code_hash` is unique.
 */
export interface FlowsTable {
  id: string;
  tenant: string;
  principal: string;
  code_hash: string | null;
  status: string;
  version: number;
  expires_at: string;
  document: string;
}

/** A principal's verified evidence in one browser: one row per tenant, principal and browser. */
export interface BrowserSessionsTable {
  id: string;
  tenant: string;
  principal: string;
  browser_hash: string;
  /** JSON array of authentication events. */
  events: string;
  created_at: string;
  last_active_at: string;
  expires_at: string;
}
