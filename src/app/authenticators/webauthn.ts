import type { WebAuthnEvent } from "../../core/evidence.js";
import { authorize } from "../access/permissions.js";
import type { AuditEntry } from "../audit/audit-chain.js";
import type {
  Application,
  Caller,
  WebAuthnAuthenticatorView,
  WebAuthnSettingsView,
  WebAuthnWarning,
} from "../application.js";
import { readStore, recordAudit, transact, type Context } from "../context.js";
import { withdrawProofs, type WithdrawnProofs } from "../flows/withdraw-proofs.js";
import { AppError, type ErrorCode } from "../errors.js";
import type { Repositories } from "../ports.js";
import type {
  AuditEvent,
  TenantRecord,
  WebAuthnCredentialRecord,
  WebAuthnSettings,
} from "../records.js";
import { requireTenant } from "../tenants/tenants.js";
import { checkSettingsPrecondition } from "../settings-precondition.js";
import { checkMethodBinding, checkMethodRemoval, methodBindingRefusal } from "./removal-rules.js";
import {
  isSignCountRegression,
  VerifierUnavailable,
  type AuthenticationVerification,
  type RegistrationVerification,
  type RelyingParty,
  type WebAuthnProtocol,
} from "./webauthn-protocol.js";
import { purgeExpiredEnrolmentsIfDue } from "./pending-enrolments.js";
import {
  principalKey,
  throttleError,
  verificationAttempt,
  verificationThrottle,
  type VerificationThrottle,
} from "./verification-throttle.js";
import { defaultWebAuthnSettings, validateWebAuthnSettings } from "./webauthn-settings.js";
import type { WebAuthnSettingsCache } from "./webauthn-settings-cache.js";

/** What the WebAuthn use cases need beyond the common context. */
export interface WebAuthnParts {
  readonly protocol: WebAuthnProtocol;
  /**
   * The server's configured public URL, if any: a tenant without settings gets its host as RP
   * id and its origin as the only origin. Without it, such a tenant answers
   * `webauthn.not_configured`.
   */
  readonly publicUrl?: string;
  /** How long a ceremony may take; 5 minutes by default. */
  readonly challengeTtlSeconds?: number;
}

/** NIST SP 800-63B §5.2.2 (rev 3) / §3.2.2 (rev 4): at most 100 consecutive failures. */
export const WEBAUTHN_FAILURE_LIMIT = 100;
/** WebAuthn §13.4.3 asks at least 16 random bytes; 32 leaves no doubt. */
export const WEBAUTHN_CHALLENGE_BYTES = 32;
const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_NAME = "Passkey";
const NAME = /^[^\p{Cc}]{1,64}$/u;

type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly code: ErrorCode;
      readonly detail?: string;
      readonly failedAttempts?: number;
    }
  | { readonly ok: false; readonly refused: AppError };

/** A refusal decided before the verifier ran (expired, unknown credential). */
type Refused = { readonly ok: false; readonly code: ErrorCode; readonly detail: string };

const settle = <T>(outcome: Outcome<T>): T => {
  if (outcome.ok) return outcome.value;
  if ("refused" in outcome) throw outcome.refused;
  throw new AppError(
    outcome.code,
    outcome.detail,
    outcome.failedAttempts === undefined ? undefined : { failedAttempts: outcome.failedAttempts },
  );
};

const tenantName = (owner: TenantRecord) =>
  (owner.name.trim().length > 0 ? owner.name : owner.id).slice(0, 64);

/**
 * A tenant without settings, on a server whose public URL gives none: an operator reading it
 * must learn whether the URL is missing or unusable (the default `http://HOST:PORT` is an IP).
 */
const notConfigured = (publicUrl: string | undefined): AppError =>
  new AppError(
    "webauthn.not_configured",
    publicUrl === undefined
      ? "This tenant has no WebAuthn relying party, and the server has no public URL to default to: set one with PUT /v1/tenants/:tenant/webauthn."
      : `This tenant has no WebAuthn relying party, and the server's public URL (${publicUrl}) cannot be one (an IP address, or plain http beyond localhost): set one with PUT /v1/tenants/:tenant/webauthn, or configure publicUrl.`,
  );

const rpOf = (settings: WebAuthnSettings): RelyingParty => ({
  id: settings.rpId,
  name: settings.rpName,
  origins: settings.origins,
});

/** Seconds a caller is asked to wait when no response can be checked now. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/**
 * `verification`, or, when its verifier could not run at all, `webauthn.unavailable` (503, with
 * `Retry-After`): nothing was judged, so nothing is counted, consumed or audited, and the same
 * response may be sent again. What failed stays in the error's details, which the HTTP layer logs
 * and never answers.
 */
async function unlessUnavailable<T>(verification: Promise<T>): Promise<T> {
  try {
    return await verification;
  } catch (error) {
    if (!(error instanceof VerifierUnavailable)) throw error;
    throw new AppError("webauthn.unavailable", undefined, {
      retryAfter: UNAVAILABLE_RETRY_AFTER_SECONDS,
      cause: error.message,
    });
  }
}

/**
 * WebAuthn for a principal: registration and authentication ceremonies, and the tenant's
 * relying-party settings. A ceremony's challenge is stored server-side, bound to its tenant,
 * principal and purpose, and consumed by one atomic delete whatever the outcome, so a response
 * is judged once (checklist W1). Responses are verified outside any write transaction; the
 * outcome (new credential, counter compare-and-set, failure count, audit) commits in one.
 * Refusals are returned out of the transaction and thrown after it, so their audit commits.
 *
 * An authentication is a verification like a TOTP code: it goes through the principal's and
 * client address's throttle (`verification-throttle.ts`), shared with every other method. It
 * is admitted before the response is read, guarded again in the outcome's transaction, and a
 * throttled attempt leaves its challenge unconsumed: it was not judged, so the same assertion
 * may be sent again once the wait is over, while the challenge lasts (a response is still judged
 * at most once). A registration proves nothing about the principal and is not throttled.
 *
 * Authentication ceremonies and the finish of a registration take the tenant's settings from
 * `cache`: a change made here binds them at once, one made through another instance within a
 * second.
 */
export function webauthnUseCases(
  context: Context,
  parts: WebAuthnParts | undefined,
  cache: WebAuthnSettingsCache,
  throttle: VerificationThrottle = verificationThrottle(context),
): Application["webauthn"] {
  const need = (): WebAuthnParts => {
    if (parts === undefined) throw new AppError("webauthn.not_configured");
    return parts;
  };
  const ttlMs = () => (parts?.challengeTtlSeconds ?? DEFAULT_TTL_SECONDS) * 1000;
  const attested = attestationTrust(parts);
  let lastPurge = 0;

  async function purgeIfDue(r: Repositories, now: Date): Promise<void> {
    if (now.getTime() - lastPurge < 60_000) return;
    lastPurge = now.getTime();
    await r.webauthnChallenges.purge(now.toISOString());
  }

  /** The tenant's own settings, or the defaults from the public URL, or none. */
  async function settingsInForce(
    r: Repositories,
    owner: TenantRecord,
  ): Promise<WebAuthnSettingsView | undefined> {
    const stored = await r.webauthnSettings.get(owner.id);
    if (stored !== undefined) return { ...stored, source: "tenant" };
    const defaults = defaultWebAuthnSettings(parts?.publicUrl, tenantName(owner));
    return defaults === undefined
      ? undefined
      : { ...defaults, tenant: owner.id, source: "default" };
  }

  /** The tenant's own settings, or the defaults from the public URL, or a refusal. */
  async function settingsIn(r: Repositories, owner: TenantRecord): Promise<WebAuthnSettingsView> {
    const settings = await settingsInForce(r, owner);
    if (settings === undefined) throw notConfigured(parts?.publicUrl);
    return settings;
  }

  /**
   * The settings in force for a ceremony, from the cache or else as {@link settingsIn} reads
   * them: an unknown tenant is refused as `not_found` either way (tenants are never deleted, so
   * one cached exists).
   */
  function ceremonySettings(r: Repositories, tenant: string): Promise<WebAuthnSettingsView> {
    return cache.settings(tenant, async () => settingsIn(r, await requireTenant(r, tenant)));
  }

  /** Stores a new challenge for `purpose` and returns it with its id and expiry. */
  async function newCeremony(
    r: Repositories,
    tenant: string,
    principal: string,
    purpose: "registration" | "authentication",
  ) {
    const now = context.clock.now();
    const ceremony = {
      tenant,
      id: context.random.id(purpose === "registration" ? "wreg" : "wauth"),
      purpose,
      principal,
      challenge: context.random.secret(WEBAUTHN_CHALLENGE_BYTES),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlMs()).toISOString(),
    } as const;
    await purgeIfDue(r, now);
    await r.webauthnChallenges.insert(ceremony);
    return ceremony;
  }

  /**
   * Reads, without a write lock, the challenge of the ceremony a finish names, which must have
   * been issued for this principal and purpose.
   */
  async function pendingCeremony(
    r: Repositories,
    tenant: string,
    principal: string,
    id: string,
    purpose: "registration" | "authentication",
  ) {
    const ceremony = await r.webauthnChallenges.get(tenant, id);
    // Another principal's ceremony answers like an unknown one, and is left alone.
    if (
      ceremony === undefined ||
      ceremony.purpose !== purpose ||
      ceremony.principal !== principal
    ) {
      throw new AppError("webauthn.challenge_unknown");
    }
    return ceremony;
  }

  /** Consumes the ceremony's challenge; false when another request used it first. */
  async function consume(r: Repositories, tenant: string, id: string, challenge: string) {
    const consumed = await r.webauthnChallenges.consume(tenant, id);
    return consumed !== undefined && consumed.challenge === challenge;
  }

  const expired = (expiresAt: string, now: Date) => Date.parse(expiresAt) <= now.getTime();

  return {
    async settings(caller, tenant) {
      authorize(caller, "tenant.configure", tenant);
      return readStore(context, async (r) => settingsIn(r, await requireTenant(r, tenant)));
    },

    async putSettings(caller, tenant, input, { ifMatch } = {}) {
      authorize(caller, "tenant.configure", tenant);
      try {
        return await transact(context, async (r) => {
          // Held until commit, so that no other change of the settings comes between the check
          // of `ifMatch` against those read here and the write: of two writers from one read,
          // the second finds the first's settings and is refused.
          if (!(await r.tenants.lock(tenant))) throw new AppError("not_found");
          const owner = await requireTenant(r, tenant);
          // Read only to be compared: a write without `If-Match` replaces what it cannot read too.
          if (ifMatch !== undefined) {
            const current = await settingsInForce(r, owner);
            checkSettingsPrecondition("webauthn.settings_conflict", ifMatch, current);
          }
          const settings = validateWebAuthnSettings(input, tenantName(owner), {
            verifiesAttestation: parts?.protocol.verifiesAttestation ?? false,
          });
          const record = {
            ...settings,
            tenant,
            updatedAt: context.clock.now().toISOString(),
            updatedBy: caller.id,
          };
          await r.webauthnSettings.put(record);
          await recordAudit(context, r, {
            tenant,
            type: "webauthn.settings_changed",
            actor: caller.id,
            payload: { ...settings },
          });
          // Announced once the transaction commits, to every instance's cache.
          r.changes.announce({ kind: "webauthn_settings", tenant });
          // As the store gives them back, so that their ETag is the one the next read answers.
          return settingsIn(r, owner);
        });
      } finally {
        // The notice reaches this instance too, but with PostgreSQL only after a round trip: a
        // new RP id, origin or user-verification requirement must bind the next ceremony here
        // before this answers. Dropped even on a failure, whose commit may have happened.
        cache.forget(tenant);
      }
    },

    async beginRegistration(caller, tenant, principal, request = {}) {
      authorize(caller, "authenticator.enrol", tenant);
      const { protocol } = need();
      const begun = await transact(context, async (r) => {
        const owner = await requireTenant(r, tenant);
        const person = await r.principals.get(tenant, principal);
        if (person === undefined) throw new AppError("principal.unknown");
        await checkMethodBinding(r, throttle, {
          tenant,
          principal,
          caller,
          now: context.clock.now(),
        });
        const settings = await settingsIn(r, owner);
        const existing = await r.webauthnCredentials.list(tenant, principal);
        const ceremony = await newCeremony(r, tenant, principal, "registration");
        await recordAudit(context, r, {
          tenant,
          type: "webauthn.registration_started",
          actor: caller.id,
          payload: { principal, registration: ceremony.id, expiresAt: ceremony.expiresAt },
        });
        return { settings, person, existing, ceremony };
      });
      const { settings, person, existing, ceremony } = begun;
      const options = await protocol.registrationOptions({
        rp: rpOf(settings),
        user: {
          id: `${tenant}\u0000${principal}`,
          name: person.displayName ?? person.id,
          displayName: person.displayName ?? person.id,
        },
        challenge: ceremony.challenge,
        excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
        userVerification: settings.userVerification,
        // Asked for only where it can be verified: without roots, a browser would show the
        // user a prompt to reveal the key's model, and nothing could come of it.
        attestation:
          request.attestation === "direct" && protocol.verifiesAttestation
            ? "direct"
            : settings.attestation,
        timeoutMs: ttlMs(),
      });
      return { registration: ceremony.id, options, expiresAt: ceremony.expiresAt };
    },

    async finishRegistration(caller, tenant, principal, registration, input) {
      authorize(caller, "authenticator.enrol", tenant);
      const { protocol } = need();
      const name = input.name ?? DEFAULT_NAME;
      if (!NAME.test(name) || name.trim().length === 0) {
        throw new AppError("authenticator.invalid", "A name is 1–64 characters, no control ones.");
      }
      const { settings, ceremony } = await readStore(context, async (r) => ({
        settings: await ceremonySettings(r, tenant),
        ceremony: await pendingCeremony(r, tenant, principal, registration, "registration"),
      }));
      const now = context.clock.now();
      const verification: RegistrationVerification | Refused = expired(ceremony.expiresAt, now)
        ? { ok: false, code: "webauthn.challenge_expired", detail: "The ceremony expired." }
        : await unlessUnavailable(
            protocol.verifyRegistration({
              response: input.response,
              challenge: ceremony.challenge,
              rp: rpOf(settings),
              userVerification: settings.userVerification,
              aaguids: settings.aaguids,
              at: now,
            }),
          );
      const outcome = await transact(
        context,
        async (r): Promise<Outcome<WebAuthnCredentialRecord>> => {
          // The principal's row before the challenge's, the order of every write on a principal:
          // a beginning of its registrations holds the row while its purge deletes expired
          // challenges, this one's among them if it expired since it was verified. Consuming
          // first, each would hold what the other waits for (a deadlock on PostgreSQL).
          await r.verificationThrottles.claim(tenant, principalKey(principal));
          if (!(await consume(r, tenant, registration, ceremony.challenge))) {
            return { ok: false, code: "webauthn.challenge_unknown" };
          }
          const refuse = async (code: ErrorCode, detail: string) => {
            await recordAudit(context, r, {
              tenant,
              type: "webauthn.registration_failed",
              actor: caller.id,
              payload: { principal, registration, reason: code },
            });
            return { ok: false as const, code, detail };
          };
          if (!verification.ok) return refuse(verification.code, verification.detail);
          // Finishing binds it: a method the principal bound since the ceremony began asks the
          // fresh MFA that beginning now would.
          const unbound = await methodBindingRefusal(r, throttle, {
            tenant,
            principal,
            caller,
            now,
            begunAt: ceremony.createdAt,
          });
          if (unbound !== undefined) return refuse(unbound.code, unbound.message);
          const { credential } = verification;
          const record: WebAuthnCredentialRecord = {
            tenant,
            principal,
            id: context.random.id("auth"),
            credentialId: credential.credentialId,
            name,
            publicKey: credential.publicKey,
            algorithm: credential.algorithm,
            signCount: credential.signCount,
            transports: credential.transports,
            aaguid: credential.aaguid,
            backupEligible: credential.backupEligible,
            backupState: credential.backupState,
            deviceType: credential.backupEligible ? "multi_device" : "single_device",
            userVerified: credential.userVerified,
            ...(credential.attestationRoot === undefined
              ? {}
              : { attestationRoot: credential.attestationRoot.fingerprint }),
            failedAttempts: 0,
            createdAt: now.toISOString(),
          };
          // Checklist W8: a credential id registered to anyone in the tenant is refused.
          if (!(await r.webauthnCredentials.insert(record))) {
            return refuse("webauthn.credential_exists", "The credential is registered already.");
          }
          await recordAudit(context, r, {
            tenant,
            type: "webauthn.registered",
            actor: caller.id,
            payload: {
              principal,
              registration,
              authenticator: record.id,
              kind: "webauthn",
              name,
              credentialId: record.credentialId,
              aaguid: record.aaguid,
              algorithm: record.algorithm,
              attestationFormat: credential.attestationFormat,
              attested: credential.attestationRoot !== undefined,
              ...(credential.attestationRoot === undefined
                ? {}
                : {
                    attestationRoot: credential.attestationRoot.subject,
                    attestationRootFingerprint: credential.attestationRoot.fingerprint,
                  }),
              backupEligible: record.backupEligible,
              backupState: record.backupState,
              userVerified: record.userVerified,
            },
          });
          return { ok: true, value: record };
        },
      );
      return toWebAuthnView(settle(outcome), attested);
    },

    async beginAuthentication(caller, tenant, principal) {
      authorize(caller, "authenticator.verify", tenant);
      const { protocol } = need();
      const { settings, credentials, ceremony } = await transact(context, async (r) => {
        const settings = await ceremonySettings(r, tenant);
        const credentials = await r.webauthnCredentials.list(tenant, principal);
        if (credentials.length === 0) throw new AppError("webauthn.no_credentials");
        // The challenge is ephemeral and carries no decision: not audited; its outcome is.
        const ceremony = await newCeremony(r, tenant, principal, "authentication");
        return { settings, credentials, ceremony };
      });
      const options = await protocol.authenticationOptions({
        rp: rpOf(settings),
        challenge: ceremony.challenge,
        allowCredentials: credentials.map((c) => ({
          id: c.credentialId,
          transports: c.transports,
        })),
        userVerification: settings.userVerification,
        timeoutMs: ttlMs(),
      });
      return { authentication: ceremony.id, options, expiresAt: ceremony.expiresAt };
    },

    async finishAuthentication(caller, tenant, principal, authentication, input) {
      authorize(caller, "authenticator.verify", tenant);
      const { protocol } = need();
      const throttled = verificationAttempt(caller, tenant, principal, input.clientAddress);
      await throttle.purgeIfDue();
      await purgeExpiredEnrolmentsIfDue(context);
      const claimed = credentialIdOf(input.response);
      const { settings, ceremony, credential } = await readStore(context, async (r) => {
        // The settings in force also find the tenant (`tenant.not_found` first, as elsewhere).
        // Then, before the response is read: a throttled attempt verifies nothing and consumes
        // nothing.
        const inForce = await ceremonySettings(r, tenant);
        const refusal = await throttle.admission(r, throttled);
        if (refusal !== undefined) throw throttleError(refusal);
        return {
          settings: inForce,
          ceremony: await pendingCeremony(r, tenant, principal, authentication, "authentication"),
          // Only this principal's credentials: another principal's, or another tenant's, is
          // unknown.
          credential:
            claimed === undefined
              ? undefined
              : await r.webauthnCredentials.findByCredentialId(tenant, principal, claimed),
        };
      });
      const now = context.clock.now();
      const at = now.toISOString();
      let verification: AuthenticationVerification | Refused;
      if (expired(ceremony.expiresAt, now)) {
        verification = { ok: false, code: "webauthn.challenge_expired", detail: "Expired." };
      } else if (credential === undefined) {
        verification = {
          ok: false,
          code: "webauthn.credential_unknown",
          detail: "The credential is not one of this principal's.",
        };
      } else if (credential.lockedAt !== undefined) {
        // Refused as `webauthn.locked` below, without verifying anything.
        verification = { ok: false, code: "webauthn.credential_unknown", detail: "Locked." };
      } else {
        verification = await unlessUnavailable(
          protocol.verifyAuthentication({
            response: input.response,
            challenge: ceremony.challenge,
            rp: rpOf(settings),
            userVerification: settings.userVerification,
            credential,
          }),
        );
      }

      type Accepted = {
        record: WebAuthnCredentialRecord;
        warnings: WebAuthnWarning[];
        audited: AuditEvent;
        /** Whether this verification counts as attested hardware ({@link attestedVerification}). */
        attested: boolean;
      };
      const outcome = await transact(context, async (r): Promise<Outcome<Accepted>> => {
        // Again, holding the principal's row, so that attempts admitted together queue and see
        // each other's failures. A refusal now leaves the challenge, as the admission would.
        const refusal = await throttle.guard(r, throttled);
        if (refusal !== undefined) return { ok: false, refused: throttleError(refusal) };
        if (!(await consume(r, tenant, authentication, ceremony.challenge))) {
          return { ok: false, code: "webauthn.challenge_unknown" };
        }
        const base = {
          principal,
          authentication,
          ...(credential === undefined ? {} : { authenticator: credential.id }),
        };
        /**
         * Counts a refusal against the credential when it is known and against the throttle,
         * then audits it (after `before`, the events that led to it): rows first, the audit
         * chain's head last, as in every verification path. `lock` locks the credential with
         * this failure, whatever its count (a clone signal under the `lock` policy).
         */
        const refuse = async (
          code: ErrorCode,
          detail: string,
          before: readonly AuditEntry[] = [],
          lock = false,
        ): Promise<Outcome<Accepted>> => {
          let counted: { failedAttempts: number; lockedAt?: string } | undefined;
          // Judged on the credential as it is now, holding the principal's row, not as it was
          // read before verifying: one locked meanwhile (by an attempt that queued before this
          // one) already counted the failure that locked it, and audited that lock. A locked
          // credential refuses without trying, so nothing more is counted, nor the lock audited
          // twice; and one unlocked meanwhile was not tried by a refusal as `webauthn.locked`.
          const current =
            credential === undefined || code === "webauthn.locked"
              ? undefined
              : await r.webauthnCredentials.get(tenant, principal, credential.id);
          if (current !== undefined && current.lockedAt === undefined) {
            counted = await r.webauthnCredentials.recordFailure(
              tenant,
              principal,
              current.id,
              // A limit of one locks with the failure it counts, in the same statement.
              lock ? 1 : WEBAUTHN_FAILURE_LIMIT,
              at,
            );
          }
          const failedAttempts = counted?.failedAttempts;
          // A locked credential refuses without trying, as a locked TOTP authenticator or
          // recovery-code set does: nothing for the throttle to count.
          const throttling =
            code === "webauthn.locked" ? undefined : await throttle.recordFailure(r, throttled);
          const lockedWith = counted?.lockedAt === undefined ? undefined : counted.failedAttempts;
          const auditLock = (withdrawn?: WithdrawnProofs) =>
            recordAudit(context, r, {
              tenant,
              type: "authenticator.locked",
              actor: caller.id,
              payload: {
                ...base,
                kind: "webauthn",
                failedAttempts: lockedWith,
                ...(lock ? { reason: code } : {}),
                ...withdrawn,
              },
            });
          if (lock && lockedWith !== undefined) {
            // Either copy of a cloned key may be the thief's, and the one that signed in before
            // the signal may well have been: what the principal proved until now, kept in a
            // session or a flow, counts no more, as a removed key's does not (the decision API
            // refuses it as `evidence.withdrawn`). The flows' rows go before the chain's head,
            // as in a removal.
            await withdrawProofs(r, tenant, principal, at, async (withdrawn) => {
              for (const event of before) await recordAudit(context, r, event);
              return auditLock(withdrawn);
            });
          } else {
            for (const event of before) await recordAudit(context, r, event);
            if (lockedWith !== undefined) await auditLock();
          }
          await recordAudit(context, r, {
            tenant,
            type: "webauthn.authentication_failed",
            actor: caller.id,
            payload: {
              ...base,
              reason: code,
              ...(failedAttempts === undefined ? {} : { failedAttempts }),
              ...(throttling === undefined
                ? {}
                : { principalFailures: throttling.principalFailures }),
              ...(throttling?.clientFailures === undefined
                ? {}
                : { clientFailures: throttling.clientFailures }),
            },
          });
          return {
            ok: false,
            code,
            detail,
            ...(failedAttempts === undefined ? {} : { failedAttempts }),
          };
        };
        if (credential?.lockedAt !== undefined) {
          return refuse("webauthn.locked", "The credential is locked.");
        }
        if (!verification.ok) return refuse(verification.code, verification.detail);
        // Verified means the credential was found, unlocked, before verifying.
        if (credential === undefined)
          return refuse("webauthn.credential_unknown", "It was removed.");
        const verified = verification;
        // Accepted with a clone signal (`warn`), the key is suspected cloned from now; accepted
        // without one, a suspicion standing is lifted, as this verification counts as attested.
        const accept = (expected: number, next: number, cloneSignal = false) =>
          r.webauthnCredentials.acceptAssertion(
            tenant,
            principal,
            credential.id,
            { expected, next },
            verified.backupState,
            at,
            cloneSignal,
          );
        const warnings: WebAuthnWarning[] = [];
        const clone: AuditEntry[] = [];
        // The compare-and-set requires the counter read before verifying, no lock, and the
        // credential still there: when it succeeds, reading the credential now would have found
        // just that, so it is not read again. Only a clone signal or a compare-and-set that
        // matches nothing reads it, to tell why, and is judged as before.
        let fresh = credential;
        let next = Math.max(credential.signCount, verified.signCount);
        const unchanged =
          !verified.cloneSignal &&
          !isSignCountRegression(credential.signCount, verified.signCount) &&
          (await accept(credential.signCount, next));
        if (!unchanged) {
          const stored = await r.webauthnCredentials.get(tenant, principal, credential.id);
          if (stored === undefined) return refuse("webauthn.credential_unknown", "It was removed.");
          if (stored.lockedAt !== undefined) return refuse("webauthn.locked", "It is locked.");
          fresh = stored;
          // Checklist W6, against the counter as it is now, not as it was when verification began.
          if (verified.cloneSignal || isSignCountRegression(fresh.signCount, verified.signCount)) {
            clone.push({
              tenant,
              type: "webauthn.clone_detected",
              actor: caller.id,
              payload: {
                ...base,
                storedSignCount: fresh.signCount,
                receivedSignCount: verified.signCount,
                policy: settings.signCountPolicy,
              },
            });
            if (settings.signCountPolicy !== "warn") {
              // Under `reject` the next higher counter, the clone's as well as the original's,
              // signs in again; `lock` stops both until an administrator unlocks the principal.
              // Suspected either way, until then: shown in the key's view, and what it proved
              // before counts as not attested (countsAsAttested).
              await r.webauthnCredentials.recordCloneSignal(tenant, principal, credential.id, at);
              return refuse(
                "webauthn.clone_detected",
                settings.signCountPolicy === "lock"
                  ? "The signature counter went backwards: the credential is now locked."
                  : "The signature counter went backwards.",
                clone,
                settings.signCountPolicy === "lock",
              );
            }
            warnings.push({
              code: "webauthn.clone_suspected",
              message: `The signature counter went backwards (${String(verified.signCount)} after ${String(fresh.signCount)}): the authenticator may have been cloned.`,
            });
          }
          next = Math.max(fresh.signCount, verified.signCount);
          if (!(await accept(fresh.signCount, next, warnings.length > 0))) {
            // Refused, the signal is audited all the same (`clone`), so the credential is
            // suspected from now, as under `reject` (and as migration 0026 reads the chain).
            if (clone.length > 0) {
              await r.webauthnCredentials.recordCloneSignal(tenant, principal, credential.id, at);
            }
            return refuse("webauthn.concurrent_use", "Used concurrently.", clone);
          }
        }
        await throttle.recordSuccess(r, throttled);
        for (const event of clone) await recordAudit(context, r, event);
        const counted = attestedVerification(attested(fresh), clone.length > 0);
        const audited = await recordAudit(context, r, {
          tenant,
          type: "webauthn.verified",
          actor: caller.id,
          payload: {
            ...base,
            kind: "webauthn",
            credentialId: fresh.credentialId,
            userVerified: verification.userVerified,
            backupEligible: verification.backupEligible,
            backupState: verification.backupState,
            attested: counted,
            signCount: next,
            ...(warnings.length > 0 ? { warnings: warnings.map((w) => w.code) } : {}),
          },
        });
        return {
          ok: true,
          value: {
            record: {
              ...withoutCloneSignal(fresh),
              signCount: next,
              backupState: verification.backupState,
              failedAttempts: 0,
              lastUsedAt: at,
              ...(clone.length > 0 ? { cloneSuspectedAt: at } : {}),
            },
            warnings,
            audited,
            attested: counted,
          },
        };
      });
      const { record, warnings, audited, attested: verifiedAttested } = settle(outcome);
      // The event is the audit record's: its time, flags and id are what the decision API checks.
      const event: WebAuthnEvent = {
        method: "webauthn",
        source: "platform",
        at: audited.at,
        userVerified: verification.ok && verification.userVerified,
        backupEligible: record.backupEligible,
        attested: verifiedAttested,
        credentialId: record.credentialId,
        verification: audited.id,
      };
      return {
        event,
        authenticator: toWebAuthnView(record, attested),
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    },
  };
}

/** The credential id a response claims, if it names one. */
function credentialIdOf(response: unknown): string | undefined {
  if (typeof response !== "object" || response === null) return undefined;
  const id = (response as { id?: unknown }).id;
  return typeof id === "string" && id.length > 0 && id.length <= 1400 ? id : undefined;
}

/**
 * Whether one verification counts as attested hardware: the credential's attestation is trusted
 * and the verification gave no clone signal. A counter that did not grow (accepted under the
 * tenant's `warn` policy) says the key's secret may exist in two places, so that verification is
 * no "hardware-bound, non-exportable" proof: it counts as the passkey it still is (AAL2 at most),
 * and a tenant's `warn` cannot meet a platform's AAL3 mandate. The key's next verification whose
 * counter grows counts as the credential is trusted again, as `warn` chose to go on trusting it.
 */
function attestedVerification(credentialAttested: boolean, cloneSignal: boolean): boolean {
  return credentialAttested && !cloneSignal;
}

/**
 * Whether a credential counts as attested now: its attestation chained to a root at registration
 * and the operator still trusts that root (checked at every use, so removing a root withdraws
 * AAL3 at once). Without WebAuthn configured, nothing is attested.
 */
export type AttestationTrust = (credential: WebAuthnCredentialRecord) => boolean;

/** The {@link AttestationTrust} of the server's WebAuthn protocol. */
export function attestationTrust(parts: WebAuthnParts | undefined): AttestationTrust {
  return (credential) =>
    credential.attestationRoot !== undefined &&
    parts !== undefined &&
    parts.protocol.trustsAttestationRoot(credential.attestationRoot);
}

/**
 * Whether a credential counts as attested hardware now, in decisions and hosted flows: its root is
 * trusted ({@link AttestationTrust}) and no clone signal stands (`cloneSuspectedAt`). A counter
 * that did not grow says the key's secret may exist in two places, and the copy that signed in
 * before the signal may have been the thief's: until the key's next verification whose counter
 * grows, what it proved counts as the passkey it still is, not as hardware-bound.
 */
export function countsAsAttested(
  credential: WebAuthnCredentialRecord,
  attested: AttestationTrust,
): boolean {
  return attested(credential) && credential.cloneSuspectedAt === undefined;
}

const withoutCloneSignal = (record: WebAuthnCredentialRecord): WebAuthnCredentialRecord => {
  const { cloneSuspectedAt: _signal, ...rest } = record;
  return rest;
};

/**
 * A credential as the API shows it: without its public key, attested as trust in its root stands
 * now, with the clone signal standing if any, and whether it counts as attested in decisions.
 */
export function toWebAuthnView(
  record: WebAuthnCredentialRecord,
  attested: AttestationTrust,
): WebAuthnAuthenticatorView {
  const { publicKey: _key, attestationRoot: _root, cloneSuspectedAt, ...view } = record;
  return {
    ...view,
    attested: attested(record),
    cloneSuspectedAt: cloneSuspectedAt ?? null,
    countsAsAttested: countsAsAttested(record, attested),
    kind: "webauthn",
    status: "active",
  };
}

/**
 * The authenticator list and removal over TOTP and WebAuthn together: the TOTP use cases keep
 * their own; WebAuthn credentials are added to the list and removed by the same route, under
 * the same rules as TOTP ({@link checkMethodRemoval}: a fresh MFA for the platform's backend,
 * never the last authenticator while policy requires MFA), audited with the remover's role.
 */
export function withWebAuthnCredentials(
  context: Context,
  totp: Application["authenticators"],
  attested: AttestationTrust,
  throttle: VerificationThrottle = verificationThrottle(context),
): Application["authenticators"] {
  return {
    ...totp,
    async list(caller, tenant, principal) {
      const listed = await totp.list(caller, tenant, principal);
      const credentials = await readStore(context, (r) =>
        r.webauthnCredentials.list(tenant, principal),
      );
      return [...listed, ...credentials.map((c) => toWebAuthnView(c, attested))].sort(
        (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
      );
    },

    async remove(caller: Caller, tenant, principal, id) {
      authorize(caller, "authenticator.remove", tenant);
      const outcome = await transact(
        context,
        async (r): Promise<"removed" | "absent" | AppError> => {
          const record = await r.webauthnCredentials.get(tenant, principal, id);
          if (record === undefined) return "absent";
          const check = await checkMethodRemoval(r, throttle, {
            tenant,
            principal,
            caller,
            now: context.clock.now(),
          });
          if (!check.ok) return check.error;
          if (!(await r.webauthnCredentials.remove(tenant, principal, id))) return "absent";
          // What the principal proved with it, in some browser or in a flow still open, counts
          // no more.
          const { role, freshMfaAt } = check;
          await withdrawProofs(
            r,
            tenant,
            principal,
            context.clock.now().toISOString(),
            (withdrawn) =>
              recordAudit(context, r, {
                tenant,
                type: "authenticator.removed",
                actor: caller.id,
                payload: {
                  principal,
                  authenticator: id,
                  kind: "webauthn",
                  credentialId: record.credentialId,
                  name: record.name,
                  role,
                  ...withdrawn,
                  ...(freshMfaAt === undefined ? {} : { freshMfaAt }),
                },
              }),
          );
          return "removed";
        },
      );
      if (outcome instanceof AppError) throw outcome;
      if (outcome === "absent") await totp.remove(caller, tenant, principal, id);
    },
  };
}
