import type {
  ApiKeyRecord,
  AuthenticatorRecord,
  BrowserSessionRecord,
  FlowRecord,
  SigningKeyRecord,
  AuditEvent,
  ExemptionRecord,
  FederationAnswerRecord,
  FederationRequestRecord,
  IdpObservation,
  IdpRecord,
  MandateVersionRecord,
  PolicyVersionRecord,
  PrincipalRecord,
  ReceiptRecord,
  RecoveryCodeRecord,
  RecoveryCodeSetRecord,
  TenantRecord,
  VerificationThrottleRecord,
  WebAuthnChallengeRecord,
  WebAuthnCredentialRecord,
  WebAuthnSettingsRecord,
} from "./records.js";

/** The source of time. Tests pass a fixed or stepping clock; nothing reads the wall clock directly. */
export interface Clock {
  now(): Date;
}

/**
 * Runs work later, on this instance. Tests pass timers they run by hand; nothing calls
 * `setTimeout` directly.
 */
export interface Timers {
  /**
   * Runs `task` once, about `ms` from now, without keeping the process alive for it; returns
   * what cancels it. `task` handles its own failures.
   */
  after(ms: number, task: () => Promise<void>): () => void;
}

/**
 * How far apart the clocks of the instances sharing a store may drift. A rule that compares
 * instants written by different instances allows this much, on the side of refusing.
 */
export const INSTANCE_CLOCK_DRIFT_SECONDS = 300;

/**
 * The last instant a store keeps as a time: the end of the year 9999 in UTC. Past it ISO 8601
 * writes a six-digit signed year (`+010000-…`), which no longer sorts as a time, and the stores
 * refuse it.
 */
export const LAST_STORABLE_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The source of identifiers and secrets. */
export interface Random {
  /** A new unique id with a readable prefix, e.g. `dec_…`. */
  id(prefix: string): string;
  /** `bytes` random bytes, base64url. */
  secret(bytes: number): string;
}

/**
 * Encrypts secrets at rest (DESIGN invariant 6). `context` names where the secret belongs and is
 * authenticated with it, so a sealed value copied onto another record does not open.
 */
export interface SecretSealer {
  seal(plaintext: string, context: string): string;
  /** Throws when the value was tampered with, sealed for another context, or its key is gone. */
  open(sealed: string, context: string): string;
}

/**
 * Hashes secrets that are checked but never read back (recovery codes): a salted, deliberately
 * slow password hash, since a code of under 112 bits must not fall to offline guessing should the
 * store leak (SP 800-63B-4 §3.1.2, SECURITY-CHECKLIST N8). The stored value names its algorithm
 * and parameters, so that they can be raised later without breaking the hashes already stored.
 */
export interface SecretHasher {
  /** A new hash of `secret` under a fresh random salt. */
  hash(secret: string): Promise<string>;
  /**
   * True when `secret` hashes to `stored` under the parameters `stored` names, compared in
   * constant time; false for a mismatch or a stored value it cannot read.
   */
  verify(secret: string, stored: string): Promise<boolean>;
}

/** A page of results and the cursor to the next one, if any. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

export interface TenantStore {
  get(tenant: string): Promise<TenantRecord | undefined>;
  list(options: { after?: string; limit: number }): Promise<Page<TenantRecord>>;
  /**
   * The ids of the tenants that `list` pages, paged alike (the same cursors), and nothing else of
   * their rows: what names every tenant even when a row holds text that `list` cannot read.
   */
  listIds(options: { after?: string; limit: number }): Promise<Page<string>>;
  /** Inserts; returns false when the id exists. */
  insert(record: TenantRecord): Promise<boolean>;
  /** Replaces the tenant's return URLs; returns false when the tenant does not exist. */
  setReturnUrls(tenant: string, returnUrls: readonly string[]): Promise<boolean>;
  /** Sets or (undefined) clears the tenant's logo URL; returns false when the tenant does not exist. */
  setLogoUrl(tenant: string, logoUrl: string | undefined): Promise<boolean>;
  /**
   * Holds the tenant's row until the transaction ends (a row lock on PostgreSQL; SQLite
   * serialises write transactions anyway): transactions that take it queue behind each other,
   * on every instance, so that a check over all of the tenant's rows (a cap on its exemptions)
   * stays true until its transaction commits. It does not block writes of the tenant's other
   * rows. Returns false when the tenant does not exist.
   */
  lock(tenant: string): Promise<boolean>;
}

export interface PolicyStore {
  current(tenant: string): Promise<PolicyVersionRecord | undefined>;
  get(tenant: string, version: number): Promise<PolicyVersionRecord | undefined>;
  /** Every version, newest first. */
  history(
    tenant: string,
    options: { before?: number; limit: number },
  ): Promise<Page<PolicyVersionRecord>>;
  /**
   * Every version of every tenant's policy (only `filter.tenant`'s when given) holding text that
   * is not JSON, by tenant and version: what `audit verify` reports as damaged, older versions
   * too, which no decision reads.
   */
  listUnreadable(filter?: UnreadableRowsFilter): Promise<readonly DamagedRow[]>;
  /** Inserts a version; returns false when that version exists (a concurrent writer won). */
  insert(record: PolicyVersionRecord): Promise<boolean>;
}

export interface MandateStore {
  /** The newest version of each mandate id, active and retired. */
  listCurrent(): Promise<readonly MandateVersionRecord[]>;
  /**
   * The mandates as `listCurrent` reads them, held against new versions until the transaction
   * ends (a lock on PostgreSQL, which other holders share and `insert` takes exclusively; SQLite
   * serialises write transactions anyway): a version committed before is read, one under way is
   * waited for and then read, and one that starts later waits for this transaction to commit. A
   * check over the mandates in force thus stays true until the commit. A transaction that holds
   * them must not `insert` a version afterwards: two such would wait on each other.
   */
  holdCurrent(): Promise<readonly MandateVersionRecord[]>;
  current(id: string): Promise<MandateVersionRecord | undefined>;
  history(id: string): Promise<readonly MandateVersionRecord[]>;
  /**
   * Every version of every mandate holding text that is not JSON (its mandate), by id and
   * version, in that order: what `audit verify` reports as damaged, each one, older versions
   * too, which `listCurrent` never reads.
   */
  listUnreadable(): Promise<readonly DamagedRow[]>;
  /**
   * Inserts a version; returns false when that version exists. Waits first for every transaction
   * holding the mandates (`holdCurrent`) to end, and holds them itself until its own ends.
   */
  insert(record: MandateVersionRecord): Promise<boolean>;
}

export interface PrincipalStore {
  get(tenant: string, id: string): Promise<PrincipalRecord | undefined>;
  /**
   * The record as `get` reads it, its row then held against other writers until the transaction
   * ends (`FOR UPDATE` on PostgreSQL; SQLite serialises write transactions anyway): an update
   * built on it cannot overwrite a change committed meanwhile (a shared-login mark, say).
   */
  hold(tenant: string, id: string): Promise<PrincipalRecord | undefined>;
  /**
   * The record as `get` reads it, its row then held against changes until the transaction ends
   * (a share lock on PostgreSQL, which other holders share and `hold` and every update wait for;
   * SQLite serialises write transactions anyway): a change committed before is what this
   * returns, and one under way is waited for and then returned, while a change that starts later
   * waits for this transaction to commit. A check of the principal (not marked a shared login,
   * say) thus stays true until the commit, without making two checks of one principal queue.
   * A transaction that holds it so must not update it afterwards: two such would wait on each
   * other.
   */
  holdShared(tenant: string, id: string): Promise<PrincipalRecord | undefined>;
  list(tenant: string, options: { after?: string; limit: number }): Promise<Page<PrincipalRecord>>;
  /**
   * Stores the record whole, but for `proofsWithdrawnAt` and `proofsWithdrawnSeq`, which only
   * {@link withdrawProofs} moves: an update built on a read from before a withdrawal cannot undo
   * it.
   */
  upsert(record: PrincipalRecord): Promise<void>;
  /** Registers a principal that is not registered yet; false, writing nothing, when one is. */
  insert(record: PrincipalRecord): Promise<boolean>;
  /**
   * Records that the principal's proofs were withdrawn at `at` by the audit event at position
   * `seq` of the tenant's chain: `proofsWithdrawnAt` becomes `at` and `proofsWithdrawnSeq` becomes
   * `seq`, each unless it is later already (neither moves back). False when no such principal.
   */
  withdrawProofs(
    tenant: string,
    id: string,
    withdrawal: { readonly at: string; readonly seq: number },
  ): Promise<boolean>;
}

/** Filters for listing exemptions. */
export interface ExemptionFilter {
  readonly principal?: string;
  readonly status?: ExemptionRecord["status"];
  readonly category?: ExemptionRecord["category"];
  /** Only those active at this instant (approved, started, not expired). */
  readonly activeAt?: string;
  /**
   * Only those not expired at this instant (expiring after it), whatever their status and start:
   * what is still to review, without reading every exemption the tenant ever had.
   */
  readonly unexpiredAt?: string;
}

export interface ExemptionStore {
  get(tenant: string, id: string): Promise<ExemptionRecord | undefined>;
  /**
   * The record as `get` reads it, its row then held against changes until the transaction ends
   * (a share lock on PostgreSQL, which other holders share; SQLite serialises write transactions
   * anyway): a change committed before is what this returns, and one under way is waited for
   * and then returned, while a change that starts later waits for this transaction to commit.
   * A check of the exemption's standing thus stays true until the commit.
   */
  hold(tenant: string, id: string): Promise<ExemptionRecord | undefined>;
  list(
    tenant: string,
    filter: ExemptionFilter,
    options: { after?: string; limit: number },
  ): Promise<Page<ExemptionRecord>>;
  /**
   * The exemptions still `requested` that `requestedBy` (an API key's id) asked for, in every
   * tenant, by tenant then id: what the key's revocation withdraws. A key belongs to no one
   * tenant, so this is the one query of exemptions not bounded to a tenant.
   */
  listRequestedBy(
    requestedBy: string,
    options: { after?: string; limit: number },
  ): Promise<Page<ExemptionRecord>>;
  insert(record: ExemptionRecord): Promise<void>;
  /** Replaces the record if its status is still `expected`; returns false otherwise. */
  update(record: ExemptionRecord, expected: ExemptionRecord["status"]): Promise<boolean>;
  /**
   * The principal's exemptions in force at some instant of `[from, to]`, both ends included:
   * approved ones over their window, and ones revoked after approval over their window up to
   * the revocation (`decidedAt`). At most `limit`, by start then id.
   */
  listInForce(
    tenant: string,
    principal: string,
    window: { from: string; to: string },
    limit: number,
  ): Promise<readonly ExemptionRecord[]>;
  /**
   * How many of the tenant's approved exemptions overlap `[from, to)`: they start before `to`
   * and expire after `from`.
   */
  countApprovedOverlapping(tenant: string, window: { from: string; to: string }): Promise<number>;
}

/**
 * Decision receipts. `get` and `getMany` throw {@link UnreadableRecord} for a receipt whose stored
 * decision or input summary is not JSON.
 */
export interface ReceiptStore {
  get(id: string): Promise<ReceiptRecord | undefined>;
  /** The receipts of these ids (at most 1000) that exist, in no particular order. */
  getMany(ids: readonly string[]): Promise<readonly ReceiptRecord[]>;
  /**
   * How many receipts each tenant holds: what verifying every chain compares with each chain's
   * `decision.recorded` events, counted by the database so that no receipt is held in memory.
   * Reads every receipt (they are not indexed by tenant): a platform administrator's act, never
   * a request's.
   */
  countByTenant(): Promise<ReadonlyMap<string, number>>;
  insert(record: ReceiptRecord): Promise<void>;
  /** Inserts every record, in as few statements as the database's limits allow (one, usually). */
  insertMany(records: readonly ReceiptRecord[]): Promise<void>;
}

export interface ApiKeyStore {
  getBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<readonly ApiKeyRecord[]>;
  /**
   * Every key whose roles, tenants or audiences hold text that is not JSON, by id in order: what
   * `audit verify` reports as damaged, each one, where `list` stops at the first.
   */
  listUnreadable(): Promise<readonly DamagedRow[]>;
  insert(record: ApiKeyRecord): Promise<void>;
  revoke(id: string, at: string): Promise<boolean>;
}

/**
 * A tenant's IdP registrations. An id's versions keep increasing across removal and registration
 * again: a removed registration leaves its last version behind, and the next one continues from
 * it, so that a version (in an `If-Match`, an audit event, a receipt) names one registration only.
 */
export interface IdpStore {
  /** The live registration; none once removed. */
  get(tenant: string, id: string): Promise<IdpRecord | undefined>;
  list(tenant: string): Promise<readonly IdpRecord[]>;
  /**
   * The version the id's last registration had when it was removed; undefined while the id is
   * registered, or when it never was.
   */
  removedVersion(tenant: string, id: string): Promise<number | undefined>;
  /**
   * Stores `record`: inserts it when `record.version` is 1 and the id was never registered, else
   * replaces the live registration at `record.version - 1`. Returns false when another writer
   * got there first.
   */
  put(record: IdpRecord): Promise<boolean>;
  /**
   * Registers `record` under an id whose registration was removed at `record.version - 1` (see
   * `removedVersion`). Returns false when the id was registered again, or removed at another
   * version, meanwhile.
   */
  reregister(record: IdpRecord): Promise<boolean>;
  /**
   * Returns false when there was no such IdP (never registered, or removed already), or, with
   * `version`, when the live registration is not at that version (replaced meanwhile).
   */
  remove(tenant: string, id: string, version?: number): Promise<boolean>;
  /**
   * Replaces the sealed client secret of the live OIDC registration `record` (as read) with
   * `sealedClientSecret`, in place: the same version, as the registration is unchanged (only the
   * key that seals its secret is). Returns false when the registration changed meanwhile.
   */
  resealClientSecret(
    record: Extract<IdpRecord, { protocol: "oidc" }>,
    sealedClientSecret: string,
  ): Promise<boolean>;
  observation(tenant: string, id: string): Promise<IdpObservation | undefined>;
  observe(observation: IdpObservation): Promise<void>;
  /**
   * Every registration (`idps`) and every observation (`idp_observations`) of every tenant (only
   * `filter.tenant`'s when given) holding text that is not JSON, by tenant and id: what `audit
   * verify` reports as damaged.
   */
  listUnreadable(filter?: UnreadableRowsFilter): Promise<readonly DamagedRow[]>;
}

export interface FederationRequestStore {
  insert(record: FederationRequestRecord): Promise<void>;
  get(id: string): Promise<FederationRequestRecord | undefined>;
  /** Marks the request used; returns false when it was used already (a replay or a race). */
  consume(id: string, at: string): Promise<boolean>;
  /** Deletes requests that expired before `before`; returns how many. */
  purge(before: string): Promise<number>;
  /**
   * The requests still pending at `at` (neither consumed nor expired: the only ones whose PKCE
   * verifier is ever opened), by tenant then id: what re-sealing goes through.
   */
  listPending(at: string): Promise<readonly FederationRequestRecord[]>;
  /**
   * Replaces the pending request's sealed PKCE verifier `from` with `to` (sealed under another
   * key); returns false when the request is consumed or gone by now, or holds another sealed
   * verifier. Nothing else of the request changes: a request consumed meanwhile stays consumed.
   */
  resealCodeVerifier(id: string, from: string, to: string): Promise<boolean>;
}

/** Verified SAML answers to direct sign-ins, held for the browser that started them. */
export interface FederationAnswerStore {
  insert(record: FederationAnswerRecord): Promise<void>;
  /** The answer whose one-time id hashes to `hash` (claimed or not, expired or not). */
  get(hash: string): Promise<FederationAnswerRecord | undefined>;
  /** Marks the answer claimed; returns false when it was claimed already (a replay or a race). */
  claim(hash: string, at: string): Promise<boolean>;
  /** Deletes answers that expired before `before`; returns how many. */
  purge(before: string): Promise<number>;
}

/**
 * One-time proofs (DESIGN invariant 7): SAML assertion ids, OIDC nonces. Kept in the shared
 * store, so that a proof replayed to another instance is caught too.
 */
export interface OneTimeProofStore {
  /** Records `key` in `scope`; returns false when it was recorded before (a replay). */
  claim(scope: string, key: string, expiresAt: string): Promise<boolean>;
  /**
   * Records `key` in `scope` until `expiresAt`, unless a record of it is in force: one that
   * expires after `inForce.after` and no later than `inForce.until` (a later expiry was set at a
   * clock far ahead of this one's, and does not count). Returns true when recorded: of concurrent
   * calls, on any instance, only those that find no record in force. A bound on how often
   * something is done, rather than a proof: what expired counts no more, even before a purge.
   */
  claimLapsed(
    scope: string,
    key: string,
    expiresAt: string,
    inForce: { readonly after: string; readonly until: string },
  ): Promise<boolean>;
  /**
   * Whether a record of `key` in `scope` is in force, as {@link claimLapsed} judges it; read
   * without writing, so that a caller can leave a record in force alone without taking a write
   * lock. A hint only: what is lapsed now may be claimed by another first, so only
   * {@link claimLapsed}'s answer decides.
   */
  isInForce(
    scope: string,
    key: string,
    inForce: { readonly after: string; readonly until: string },
  ): Promise<boolean>;
  /** Deletes proofs that expired before `before`; returns how many. */
  purge(before: string): Promise<number>;
}

/**
 * A principal's authenticators. Every method takes the tenant and principal first, and each
 * change is one conditional statement, so that it holds across instances sharing the store.
 */
export interface AuthenticatorStore {
  get(tenant: string, principal: string, id: string): Promise<AuthenticatorRecord | undefined>;
  /** Oldest first. */
  list(tenant: string, principal: string): Promise<readonly AuthenticatorRecord[]>;
  insert(record: AuthenticatorRecord): Promise<void>;
  /**
   * Activates a pending authenticator with its first accepted step; returns it as it now is, or
   * undefined when it was not pending (confirmed already, or concurrently).
   */
  activate(
    tenant: string,
    principal: string,
    id: string,
    step: number,
    at: string,
  ): Promise<AuthenticatorRecord | undefined>;
  /**
   * Records `step` as accepted if it is later than the last accepted one, on an active, unlocked
   * authenticator, and clears the failure count; returns it as it now is, or undefined when
   * nothing was accepted. Compare-and-set: of two submissions of one step, exactly one gets the
   * authenticator (RFC 6238 §5.2, DESIGN invariant 7).
   */
  acceptStep(
    tenant: string,
    principal: string,
    id: string,
    step: number,
    at: string,
  ): Promise<AuthenticatorRecord | undefined>;
  /**
   * Counts a failed verification; at `limit` consecutive failures the authenticator is locked.
   * Returns the new count and the lock time, or undefined when there is no such authenticator.
   */
  recordFailure(
    tenant: string,
    principal: string,
    id: string,
    limit: number,
    at: string,
  ): Promise<{ failedAttempts: number; lockedAt?: string } | undefined>;
  /** Returns false when there was no such authenticator. */
  remove(tenant: string, principal: string, id: string): Promise<boolean>;
  /**
   * Lifts the failure locks of the principal's authenticators and forgets their failure counts;
   * returns the ids of those that were locked or had failures.
   */
  unlockAll(tenant: string, principal: string): Promise<readonly string[]>;
  /** Every authenticator of the tenant, whoever holds it, by principal then age. */
  listTenant(tenant: string): Promise<readonly AuthenticatorRecord[]>;
  /**
   * Replaces the sealed secret if it is still `from` (compare-and-set); returns false otherwise.
   * For re-sealing under a new key: the secret itself never changes.
   */
  reseal(tenant: string, principal: string, id: string, from: string, to: string): Promise<boolean>;
  /**
   * Deletes up to `limit` pending authenticators (enrolments never confirmed) begun at or before
   * `begunBy`, in every tenant, oldest first, and returns them as they were. On PostgreSQL a row
   * another transaction holds (a confirmation under way) is skipped, never waited for; one
   * activated meanwhile is not pending, and stays.
   */
  purgePending(begunBy: string, limit: number): Promise<readonly AuthenticatorRecord[]>;
}

/** A principal's current set of recovery codes with how many of them are left. */
export interface RecoveryCodeStatus {
  readonly set: RecoveryCodeSetRecord;
  readonly total: number;
  readonly remaining: number;
}

/**
 * Recovery codes: one current set per principal, its codes stored only as hashes. Every method
 * takes the tenant and principal first, and each change is one conditional statement, so that
 * single use holds across instances sharing the store.
 */
export interface RecoveryCodeStore {
  /** The principal's current set and its counts, if it has one. */
  status(tenant: string, principal: string): Promise<RecoveryCodeStatus | undefined>;
  /**
   * The principal's current set and, when one of its codes has `locator`, that code (used or
   * not). Codes of replaced sets are never found.
   */
  find(
    tenant: string,
    principal: string,
    locator: string,
  ): Promise<{ set: RecoveryCodeSetRecord; code?: RecoveryCodeRecord } | undefined>;
  /**
   * Makes `set` the principal's current set with `codes`, dropping every code of the set it
   * replaces. The failure count and lock carry over to the new set (SP 800-63B: a new secret does
   * not reset the count); the last use is cleared.
   */
  replace(
    set: {
      readonly tenant: string;
      readonly principal: string;
      readonly id: string;
      readonly createdAt: string;
    },
    codes: readonly RecoveryCodeRecord[],
  ): Promise<void>;
  /**
   * Marks the code `locator` of set `set` used, if it is unused, its set is still current and
   * unlocked; then clears the failure count. Compare-and-set: of two submissions of one code,
   * exactly one gets true (DESIGN invariant 7).
   */
  use(
    tenant: string,
    principal: string,
    set: string,
    locator: string,
    at: string,
  ): Promise<boolean>;
  /**
   * Counts a failed verification against the principal's set; at `limit` consecutive failures the
   * set is locked. Returns the new count and the lock time, or undefined when there is no set or
   * it is locked already (a check made before the lock counts nothing more).
   */
  recordFailure(
    tenant: string,
    principal: string,
    limit: number,
    at: string,
  ): Promise<{ failedAttempts: number; lockedAt?: string } | undefined>;
  /** Deletes the principal's set, its codes and its count; returns false when there was none. */
  revoke(tenant: string, principal: string): Promise<boolean>;
  /**
   * Lifts the lock of the principal's set and forgets its failure count, keeping its codes;
   * returns false when there was no set, or it was neither locked nor had failures.
   */
  unlock(tenant: string, principal: string): Promise<boolean>;
}

/**
 * Failed verification attempts per throttle key (`principal:<id>`, `client:<address>`). Each
 * change is one statement, so that concurrent failures on several instances all count. Keys are
 * scoped by `tenant`: a principal's by its tenant, a client address's by the attempt's tenant or,
 * when a key of every tenant reported it or the server observed it itself (a hosted flow's
 * browser, on a public network), by the platform-wide scope `CLIENT_ADDRESS_SCOPE`
 * (`"*"`, which no tenant id can take), so that it counts once across tenants.
 */
export interface VerificationThrottleStore {
  get(tenant: string, key: string): Promise<VerificationThrottleRecord | undefined>;
  /**
   * The state of `key`, created empty when there is none, held until the transaction ends (a
   * row lock on PostgreSQL; SQLite serialises write transactions anyway): verifications under
   * one key queue behind each other, on every instance, so a guard's answer stays true until
   * its transaction commits.
   */
  claim(tenant: string, key: string): Promise<VerificationThrottleRecord>;
  /**
   * Counts one failure at `at`, atomically: a failure after `forgetBefore` adds one to the count,
   * an older last failure (a quiet period) starts it again at one. Returns the new state.
   */
  recordFailure(
    tenant: string,
    key: string,
    failure: { at: string; forgetBefore: string },
  ): Promise<VerificationThrottleRecord>;
  /** Moves the next allowed attempt to `until`, never earlier than it already is. */
  postpone(tenant: string, key: string, until: string): Promise<void>;
  /**
   * Locks `key` at `at` until `expiresAt` if it is unlocked and has failed at least `threshold`
   * times in a row; returns true for the one call that locked it.
   */
  lock(
    tenant: string,
    key: string,
    lock: { threshold: number; at: string; expiresAt: string },
  ): Promise<boolean>;
  /** A success: the count and backoff start again, and `at` is the last success. */
  recordSuccess(tenant: string, key: string, at: string): Promise<void>;
  /** Lifts the lock and backoff and forgets the failures; returns false when there was no row. */
  clear(tenant: string, key: string): Promise<boolean>;
  /**
   * Deletes, in every tenant, up to `limit` rows that hold nothing at `before`: no lock (not
   * even an expired one, whose lifting is still to be audited), no next attempt at or after
   * `before`, and no failure or success at or after it. Rows another transaction holds are skipped, not waited for. Returns how many.
   */
  purge(before: string, limit: number): Promise<number>;
}

/**
 * A principal's WebAuthn credentials. Tenant and principal first; each change one conditional
 * statement, so that it holds across instances sharing the store.
 */
export interface WebAuthnCredentialStore {
  get(tenant: string, principal: string, id: string): Promise<WebAuthnCredentialRecord | undefined>;
  /** The principal's credential with this WebAuthn credential id. */
  findByCredentialId(
    tenant: string,
    principal: string,
    credentialId: string,
  ): Promise<WebAuthnCredentialRecord | undefined>;
  /** Oldest first. */
  list(tenant: string, principal: string): Promise<readonly WebAuthnCredentialRecord[]>;
  /** Inserts; returns false when the credential id is registered in the tenant already. */
  insert(record: WebAuthnCredentialRecord): Promise<boolean>;
  /**
   * Records an accepted assertion: the counter becomes `next` if it is still `expected`
   * (compare-and-set: of two writers from one counter, exactly one gets true), on an unlocked
   * credential; the failure count is cleared and the backup state and last use recorded. With
   * `cloneSignal` (accepted under the `warn` policy) the clone is suspected from `at`; without,
   * a suspicion standing is lifted.
   */
  acceptAssertion(
    tenant: string,
    principal: string,
    id: string,
    counter: { expected: number; next: number },
    backupState: boolean,
    at: string,
    cloneSignal?: boolean,
  ): Promise<boolean>;
  /**
   * Records a clone signal at `at` on an assertion refused for it: the clone is suspected from
   * then, until an accepted assertion without one. Returns false when there was no such credential.
   */
  recordCloneSignal(tenant: string, principal: string, id: string, at: string): Promise<boolean>;
  /** Counts a failed verification; locks at `limit` consecutive failures. */
  recordFailure(
    tenant: string,
    principal: string,
    id: string,
    limit: number,
    at: string,
  ): Promise<{ failedAttempts: number; lockedAt?: string } | undefined>;
  /** Returns false when there was no such credential. */
  remove(tenant: string, principal: string, id: string): Promise<boolean>;
  /**
   * Lifts the failure locks of the principal's credentials and forgets their failure counts;
   * returns the ids of those that were locked or had failures.
   */
  unlockAll(tenant: string, principal: string): Promise<readonly string[]>;
  /**
   * Every credential of every tenant (only `filter.tenant`'s when given) whose transports hold
   * text that is not JSON, by tenant, principal and id: what `audit verify` reports as damaged.
   */
  listUnreadable(filter?: UnreadableRowsFilter): Promise<readonly DamagedRow[]>;
}

/** WebAuthn challenges, each used once (checklist W1, DESIGN invariant 7). */
export interface WebAuthnChallengeStore {
  insert(record: WebAuthnChallengeRecord): Promise<void>;
  get(tenant: string, id: string): Promise<WebAuthnChallengeRecord | undefined>;
  /**
   * Deletes the challenge and returns it; undefined when it is gone (used already, by this call's
   * rival too: of two concurrent consumers exactly one gets it).
   */
  consume(tenant: string, id: string): Promise<WebAuthnChallengeRecord | undefined>;
  /** Deletes challenges that expired before `before`; returns how many. */
  purge(before: string): Promise<number>;
}

/** Each tenant's WebAuthn settings. */
export interface WebAuthnSettingsStore {
  get(tenant: string): Promise<WebAuthnSettingsRecord | undefined>;
  /** Inserts or replaces. */
  put(record: WebAuthnSettingsRecord): Promise<void>;
  /**
   * Every tenant's settings (only `filter.tenant`'s when given) holding text that is not JSON,
   * by tenant: as `audit verify` reports.
   */
  listUnreadable(filter?: UnreadableRowsFilter): Promise<readonly DamagedRow[]>;
}

/** The principals of one tenant that hold a usable platform authenticator, by kind, for reports. */
export interface EnrolledPrincipals {
  /** With a confirmed TOTP authenticator (locked ones included: still theirs to unlock). */
  readonly totp: readonly string[];
  /** With a registered WebAuthn credential (passkey or security key), locked ones included. */
  readonly webauthn: readonly string[];
  /** With a set of recovery codes of which at least one is unused, a locked set included. */
  readonly recoveryCodes: readonly string[];
}

/** Which principals hold which platform authenticators: read across a tenant, never per principal. */
export interface EnrolmentStore {
  /**
   * Each list in principal id order, without repeats; all three read at one instant (one
   * statement), so that a principal who moves from one kind to another is never read with none.
   */
  enrolledPrincipals(tenant: string): Promise<EnrolledPrincipals>;
}

/**
 * A row whose stored JSON text is not JSON, named by its table and key, never by anything it
 * holds: by its id; a version of a mandate or of a tenant's policy by the mandate's or tenant's id
 * and its version; a tenant's IdP, IdP observation or WebAuthn credential by its tenant and id (the
 * IdP's id for an observation); a tenant's WebAuthn settings by the tenant's id. A federation
 * request is named by the SHA-256 (hex) of its id, which is the sign-in's `state` or `RelayState`
 * and is never logged; a federation answer by its stored hash. `audit verify` reads the rows of
 * `api_keys`, `tenants`, `mandate_versions`, `signing_keys`, `policy_versions`, `idps`,
 * `idp_observations`, `webauthn_credentials` and `webauthn_settings` besides the chains and
 * receipts; the short-lived ones (flows, browser sessions, federation requests and answers) are
 * named by the request that meets them only.
 */
export type DamagedRow =
  | {
      readonly table:
        | "api_keys"
        | "tenants"
        | "signing_keys"
        | "webauthn_settings"
        | "flows"
        | "browser_sessions"
        | "federation_requests"
        | "federation_answers";
      readonly id: string;
    }
  | {
      readonly table: "mandate_versions" | "policy_versions";
      readonly id: string;
      readonly version: number;
    }
  | {
      readonly table: "idps" | "idp_observations" | "webauthn_credentials";
      readonly tenant: string;
      readonly id: string;
    };

/**
 * Which rows of a tenant's table `listUnreadable` reads: verifying one tenant's chain names that
 * tenant's damaged rows, and never another's (invariant 5); verifying every chain names all.
 */
export interface UnreadableRowsFilter {
  /** Only this tenant's rows; every tenant's when not given. */
  readonly tenant?: string;
}

/**
 * What a store throws when it reads back, in a record that the audit checks, JSON text that it
 * never wrote (it writes only what `JSON.stringify` gives): an audit event's payload, a
 * receipt's decision or input summary, or a JSON column of any other row ({@link DamagedRow}).
 * Only someone writing to the database outside the service leaves that, so the checks report it
 * as tampering with the record named here (`audit verify`, `GET /v1/decisions/:id`), and every
 * other read, through `transact` and `readStore`, as a typed problem naming it
 * (`store.record_damaged` for a row), never as a store that cannot be reached.
 */
export class UnreadableRecord extends Error {
  constructor(
    readonly record:
      | { readonly kind: "audit_event"; readonly chain: string; readonly seq: number }
      | { readonly kind: "receipt"; readonly id: string; readonly tenant: string }
      | ({ readonly kind: "row" } & DamagedRow),
  ) {
    super(`${describeUnreadable(record)} holds text that is not JSON`);
    this.name = "UnreadableRecord";
  }
}

function describeUnreadable(record: UnreadableRecord["record"]): string {
  switch (record.kind) {
    case "audit_event":
      return `Audit event ${String(record.seq)} of ${record.chain}`;
    case "receipt":
      return `Receipt ${record.id}`;
    case "row":
      return `Row ${rowKey(record)} of ${record.table}`;
  }
}

/** The key of `row` in words: its id, then its tenant or its version where the key holds one. */
export function rowKey(row: DamagedRow): string {
  const tenant = "tenant" in row ? ` of tenant ${row.tenant}` : "";
  const version = "version" in row ? ` version ${String(row.version)}` : "";
  return `${row.id}${tenant}${version}`;
}

/** Filters for reading a chain. */
export interface AuditFilter {
  readonly type?: string;
  readonly from?: string;
  readonly to?: string;
}

/** Events to append to one chain, each link given the event before it (the head, first). */
export interface AuditRun {
  readonly chain: string;
  readonly links: readonly ((head: { seq: number; hash: string } | undefined) => AuditEvent)[];
}

export interface AuditStore {
  /**
   * Appends to `chain`: locks the chain's head so concurrent appenders (in this process or
   * another instance) queue, hands the head to `link`, which returns the new event, and stores
   * it. No fork, no gap: `link` always sees the true head.
   */
  append(
    chain: string,
    link: (head: { seq: number; hash: string } | undefined) => AuditEvent,
  ): Promise<AuditEvent>;
  /**
   * Appends several events to `chain` at once, as `append` would one after the other: the head
   * is locked and read once, the first link gets it, each following link gets the event the one
   * before returned, and the new head is written once. The events are checked as `append` checks
   * one (each must continue the one before it) before any is stored, and inserted in as few
   * statements as the database's limits allow. Returns the events in order; no links, no write.
   */
  appendMany(
    chain: string,
    links: readonly ((head: { seq: number; hash: string } | undefined) => AuditEvent)[],
  ): Promise<readonly AuditEvent[]>;
  /**
   * Appends runs of events to several chains at once (each chain once), as `appendMany` would
   * to each: the same checks, the same events. The heads are locked and read together (in chain
   * order, so that two such appends never wait on each other in a cycle), the events inserted
   * together and the heads written together, each in as few statements as the database's limits
   * allow: what many chains' appends cost in statements does not grow with the chains. Returns
   * the events, run after run; nothing is written when a link is refused.
   */
  appendToChains(runs: readonly AuditRun[]): Promise<readonly AuditEvent[]>;
  /**
   * Events of a chain in order, from `afterSeq` + 1; without `afterSeq`, from the first row
   * stored, whatever its position: a row placed below position 1 (which no append writes, but
   * someone writing to the database could) is read too, so that verification and exports see it.
   * This, `find` and `findAnywhere` throw {@link UnreadableRecord} for an event whose stored
   * payload is not JSON (the first in order).
   */
  read(
    chain: string,
    options: { afterSeq?: number; limit: number; filter?: AuditFilter },
  ): Promise<readonly AuditEvent[]>;
  /**
   * The event `id` of `chain`, if that chain holds it at a position from 1 (an id of another
   * chain, or a row placed before the chain's start, finds nothing).
   */
  find(chain: string, id: string): Promise<AuditEvent | undefined>;
  /** The event `id` at a position from 1, in whichever chain holds it (ids are unique). */
  findAnywhere(id: string): Promise<AuditEvent | undefined>;
  /** The chains with a recorded head, in order. */
  chains(): Promise<readonly string[]>;
  /**
   * Every chain that holds at least one event, in order, whatever the heads and tenants say: a
   * chain whose head row was deleted (with its tenant's row, say) still holds its events, and
   * verification must not lose sight of it.
   */
  chainsWithEvents(): Promise<readonly string[]>;
  /** The chain's recorded head: the last position and hash appended, if any. */
  head(chain: string): Promise<{ seq: number; hash: string } | undefined>;
}

/** The kinds of secret sealed at rest (DESIGN invariant 6). */
export type SealedSecretKind =
  "totp_secret" | "idp_client_secret" | "signing_key" | "pkce_verifier";

/** How many values of one kind one key seals. */
export interface SealedKeyCount {
  /** The id the sealed values name (`v1.<id>.…`); empty for a value of another shape. */
  readonly keyId: string;
  readonly kind: SealedSecretKind;
  readonly count: number;
  /** For PKCE verifiers: when the last of their sign-ins expires. */
  readonly until?: string;
}

/** Where secrets sealed at rest are, by the key that sealed them. */
export interface SealedSecretStore {
  /**
   * How many sealed values each key id seals, by kind: the TOTP secret of every confirmed
   * authenticator and of every enrolment begun after `enrolmentsBegunAfter` (an older one is
   * past its time: never confirmed, never opened, and purged), every live OIDC IdP's client
   * secret, every stored assurance-token signing key (removed ones too, as re-sealing goes
   * through them all), and the PKCE verifiers of the sign-ins still pending at `at` (neither
   * answered nor expired: no other is ever opened). Counted by the database, one query a kind:
   * no value is read out, let alone opened.
   */
  countByKey(at: string, enrolmentsBegunAfter: string): Promise<readonly SealedKeyCount[]>;
}

/** Assurance-token signing keys: platform-wide, not per tenant. */
export interface SigningKeyStore {
  /** The keys still published at `at` (`removedAt` after it), oldest activation first, then by kid. */
  published(at: string): Promise<readonly SigningKeyRecord[]>;
  /**
   * Inserts a key; returns false when the key it is the successor of has one already: another
   * instance rotated first, and its key is the one to use.
   */
  insert(record: SigningKeyRecord): Promise<boolean>;
  /**
   * Ends a key early: it stops signing at `retiresAt` and leaves the JWKS at `removedAt`, or
   * earlier where it does already (a compromise or a withdrawal committed since the caller read
   * it is never undone). Returns the times it stands at now; undefined for an unknown kid.
   */
  retire(
    kid: string,
    retiresAt: string,
    removedAt: string,
  ): Promise<{ readonly retiresAt: string; readonly removedAt: string } | undefined>;
  /** Every stored key, removed ones too, by kid: what re-sealing goes through. */
  list(): Promise<readonly SigningKeyRecord[]>;
  /**
   * Every key whose public JWK holds text that is not JSON, by kid in order: what `audit verify`
   * reports as damaged, each one, where `list` stops at the first.
   */
  listUnreadable(): Promise<readonly DamagedRow[]>;

  /**
   * Replaces the key's sealed private JWK `from` with `to` (sealed under another encryption key);
   * returns false when the key is gone or holds another sealed JWK by now.
   */
  reseal(kid: string, from: string, to: string): Promise<boolean>;
  /**
   * Withdraws a key whose sealed private JWK is still `from`: it is discarded, the key stops
   * signing and leaves the JWKS at `at` (at once, or as it did already if earlier), and it is
   * nobody's successor any more; its public JWK stays. False when the key is gone or holds
   * another sealed JWK by now.
   */
  withdraw(kid: string, from: string, at: string): Promise<boolean>;
}

/**
 * Hosted flows. Every change is a compare-and-set on the record's version, so that of two
 * concurrent moves (two tabs, two instances, a replayed code) exactly one wins.
 */
export interface FlowStore {
  insert(record: FlowRecord): Promise<void>;
  get(tenant: string, id: string): Promise<FlowRecord | undefined>;
  /** The flow whose one-time code hashes to `codeHash`, whatever its status. */
  findByCodeHash(codeHash: string): Promise<FlowRecord | undefined>;
  /**
   * Replaces the flow with `record` if its stored version is still `record.version - 1`;
   * returns false otherwise (another request moved it first).
   */
  update(record: FlowRecord): Promise<boolean>;
  /**
   * Deletes flows whose `expiresAt` (a completed flow's is never before its code's expiry) is
   * before `before`; returns how many.
   */
  purge(before: string): Promise<number>;
  /**
   * The principal's flows still `pending`, or `completed` with their code not yet exchanged (it
   * may have expired), by id: what a withdrawal of the principal's proofs reaches.
   */
  unspentOf(tenant: string, principal: string): Promise<readonly FlowRecord[]>;
}

/** Browser sessions: one per tenant, principal and browser. */
export interface BrowserSessionStore {
  /** The session of this principal in the browser whose cookie hashes to `browserHash`. */
  get(
    tenant: string,
    principal: string,
    browserHash: string,
  ): Promise<BrowserSessionRecord | undefined>;
  /** Inserts, or replaces the one with the same tenant, principal and browser. */
  put(record: BrowserSessionRecord): Promise<void>;
  /** Ends every session of a principal (an authenticator removed, an administrator's unlock). */
  removePrincipal(tenant: string, principal: string): Promise<number>;
  /**
   * Ends every session of the tenant holding federated evidence from its IdP `idp` (the IdP
   * removed or re-registered); returns how many.
   */
  removeIdp(tenant: string, idp: string): Promise<number>;
  /** Deletes sessions that expired before `before`; returns how many. */
  purge(before: string): Promise<number>;
}

/** The repositories, all bound to one transaction. */
export interface Repositories {
  readonly tenants: TenantStore;
  readonly policies: PolicyStore;
  readonly mandates: MandateStore;
  readonly principals: PrincipalStore;
  readonly exemptions: ExemptionStore;
  readonly receipts: ReceiptStore;
  readonly apiKeys: ApiKeyStore;
  readonly audit: AuditStore;
  readonly idps: IdpStore;
  readonly federationRequests: FederationRequestStore;
  readonly federationAnswers: FederationAnswerStore;
  readonly oneTimeProofs: OneTimeProofStore;
  readonly authenticators: AuthenticatorStore;
  readonly recoveryCodes: RecoveryCodeStore;
  readonly signingKeys: SigningKeyStore;
  readonly sealedSecrets: SealedSecretStore;
  readonly verificationThrottles: VerificationThrottleStore;
  readonly webauthnCredentials: WebAuthnCredentialStore;
  readonly webauthnChallenges: WebAuthnChallengeStore;
  readonly webauthnSettings: WebAuthnSettingsStore;
  readonly enrolments: EnrolmentStore;
  readonly flows: FlowStore;
  readonly browserSessions: BrowserSessionStore;
  /** Changes to announce to every instance once this transaction commits. */
  readonly changes: ChangeNotices;
}

/**
 * Announcements made inside a transaction: held until it commits, so that no instance reloads
 * before the data it would reload exists, and dropped if it rolls back. Outside the store's
 * transactions (and through `Store.read`'s repositories) nothing can be held, and announcing
 * is a bug: it throws.
 */
export interface ChangeNotices {
  announce(change: StoreChange): void;
}

/** What changed, so that every instance's caches drop what is stale (within a second). */
export interface StoreChange {
  readonly kind:
    | "tenant"
    | "policy"
    | "mandate"
    | "exemption"
    | "principal"
    | "api_key"
    | "idp"
    | "webauthn_settings";
  /** The tenant concerned; absent for platform-wide changes. */
  readonly tenant?: string;
}

/** The durable store: SQLite (embedded) or PostgreSQL (several instances). */
export interface Store {
  /** Runs `work` in one transaction: every write in it commits together or not at all. */
  transaction<T>(work: (repositories: Repositories) => Promise<T>): Promise<T>;
  /**
   * Runs `work` over repositories that only read, outside any write transaction: SQLite takes no
   * write lock for it (each query sees the latest commit), PostgreSQL runs each query on a pooled
   * connection. Writing through them is a bug; use {@link Store.transaction} for that.
   */
  read<T>(work: (repositories: Repositories) => Promise<T>): Promise<T>;
  /**
   * Announces a change to every instance sharing the store, at once: call it after the
   * transaction that made the change has committed, or announce through that transaction's
   * `changes` instead, which waits for the commit.
   */
  notify(change: StoreChange): Promise<void>;
  /** Subscribes to changes announced by any instance; returns the unsubscribe function. */
  onChange(listener: (change: StoreChange) => void): () => void;
  /** Resolves when the store can be read; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
