/**
 * Every failure the application reports, by stable code. Expected failures are values of
 * {@link AppError}; the HTTP layer maps each code to a status in one place.
 */
export const ERROR_CODES = {
  "auth.missing_credentials": "Send an API key as `Authorization: Bearer <key>`.",
  "auth.invalid_credentials": "The API key is unknown, expired or revoked.",
  "auth.forbidden": "Your role does not allow this.",
  "request.invalid": "The request is malformed.",
  "evidence.unverified":
    "An MFA event does not match tenant-mfa's record of the verification it names, or names none where one is required.",
  "evidence.withdrawn":
    "An MFA event names a verification audited before the principal's proofs were withdrawn (an authenticator removed or locked by a clone signal, its recovery codes revoked or replaced): verify again.",
  not_found: "There is no such resource, or you cannot see it.",
  "tenant.exists": "A tenant with this id exists.",
  "tenant.settings_conflict":
    "The tenant's settings changed since you read them; read them again and retry.",
  "bootstrap.exists": "A platform_admin key exists already; bootstrap again only with --force.",
  "policy.precondition_required": "Send `If-Match` with the policy version you are replacing.",
  "policy.version_conflict": "The policy changed since you read it; read it again and retry.",
  "policy.invalid": "The policy is not valid.",
  "mandate.invalid": "The mandate is not valid.",
  "mandate.retired": "The mandate is retired.",
  "mandate.exists": "A mandate with this id exists.",
  "mandate.precondition_required": "Send `If-Match` with the mandate version you are replacing.",
  "mandate.version_conflict": "The mandate changed since you read it; read it again and retry.",
  "exemption.shared_login_refused":
    "Shared logins can never be exempted from MFA: each person who signs in needs their own account, or a privileged-access tool that names the individual (seed 001).",
  "exemption.expiry_required": "An exemption needs an expiry.",
  "exemption.too_long": "The exemption lasts longer than the maximum allowed.",
  "exemption.renewal_limit":
    "The principal would hold too many exemptions in a row (back to back or overlapping): MFA must apply for more than a day between runs.",
  "exemption.tenant_limit": "The tenant holds the maximum number of active exemptions.",
  "exemption.starts_too_late":
    "The exemption starts too far ahead: request it nearer the time, so that it is reviewed when it is needed.",
  "exemption.expired": "The exemption's expiry has passed: it can no longer be approved.",
  "exemption.self_approval": "An exemption cannot be approved by the person who requested it.",
  "exemption.requester_revoked":
    "The API key that requested this exemption is revoked (or unknown here): its request cannot be approved. Ask for it again with a current key.",
  "exemption.invalid_state": "The exemption is not in a state that allows this.",
  "principal.unknown": "The principal is not registered in this tenant.",
  "principal.shared_login_locked":
    "The principal is marked as a shared login: only a platform administrator can lift the mark, or move it out of MFA (guest, integration).",
  "principal.population_locked":
    "A platform mandate binds this principal and would not in its new population (an exemption, bounded and approved, is how one that can be exempted is excused): only a platform administrator can make this change.",
  "idp.invalid": "The identity provider registration is not valid.",
  "idp.precondition_required": "Send `If-Match` with the IdP version you are replacing.",
  "idp.version_conflict":
    "The IdP registration changed since you read it; read it again and retry.",
  "idp.metadata_expired":
    "The IdP metadata has expired (its `validUntil` has passed): get current metadata from the IdP.",
  "federation.not_configured": "This server is not configured for SAML and OpenID Connect sign-in.",
  "federation.return_to_not_allowed":
    "`return_to` is not one of the tenant's registered return URLs.",
  "federation.request_unknown":
    "This sign-in was not started here, has expired, or was completed already. Start again.",
  "federation.rejected": "The identity provider's answer could not be accepted.",
  "federation.subject_mismatch":
    "The identity provider signed in someone other than the person this sign-in was started for.",
  "federation.browser_mismatch":
    "This sign-in was started in another browser: it can be completed only in the browser that started it. Start again here.",
  "federation.answer_unknown":
    "This sign-in's answer is unknown here, has expired, or was used already. Start again.",
  "authenticator.not_configured":
    "This server has no sealing keys or TOTP verifier for platform authenticators.",
  "authenticator.invalid": "The authenticator request is not valid.",
  "authenticator.invalid_state": "The authenticator is not in a state that allows this.",
  "authenticator.throttled":
    "Too many failed verifications: wait before trying again (the problem's `retryAfter`, in seconds).",
  "authenticator.locked":
    "Too many failed verifications in a row: verification is locked for this principal until an administrator unlocks it or the lock expires.",
  "authenticator.fresh_mfa_required":
    "Removing a method, or binding another to a principal that holds one, on the principal's behalf needs a successful verification within the last few minutes: verify first, or ask an administrator to remove it.",
  "authenticator.enrolment_expired":
    "This TOTP enrolment was not confirmed in time: it was removed. Begin a new one (with a new secret).",
  "authenticator.last_method":
    "This is the principal's last active method and policy requires MFA of this principal: enrol another method first, or grant an exemption.",
  "totp.malformed_code": "A TOTP code is 6 or 8 digits, as enrolled.",
  "totp.wrong_code": "The code is not valid now.",
  "totp.replayed": "This code was used already; wait for the next one.",
  "totp.locked":
    "Too many failed attempts: this authenticator is locked until an administrator unlocks the principal or resets it.",
  "assurance.not_configured":
    "This server has no sealing keys or token signer: it issues no assurance tokens.",
  "assurance.not_allowed": "No assurance token can be issued for this decision.",
  "flow.return_to_not_allowed": "`return_to` is not one of the tenant's registered return URLs.",
  "audit.checkpoint_invalid":
    "The checkpoint was not signed by this service (with the key kept beside it, when one is) for a chain you may verify; send it as you received it.",
  "flow.audience_not_allowed":
    "This key may not ask for assurance tokens for that audience: name one of the key's `audiences`.",
  "flow.code_invalid":
    "The code is unknown, expired, used already, or was issued to another client. Start a new flow.",
  "flow.unusable":
    "This flow cannot be used from here: it expired, was completed, belongs to another browser, or the form was stale.",
  "flow.enrolment_not_allowed":
    "A new authenticator can be added in a flow only after verifying one the principal already has.",
  "secret.unavailable":
    "A sealed secret could not be opened: its key is not configured, or the stored value was altered.",
  "signing_key.opens":
    "The signing key's private part opens with the configured keys: it is not withdrawn. Rotate (`keys rotate --compromised`) and re-seal (`secrets reseal`) instead.",
  "signing_key.published_changed":
    "A signing key was published since the keys were listed for confirmation: nothing was withdrawn. List them and confirm again.",
  "secret.reseal_incomplete":
    "Some sealed secrets could not be opened (their key is not configured, or the stored value was altered) and were left unchanged; every other was re-sealed. Keep the key that sealed them until each is replaced.",
  "receipt.tampered":
    "The stored receipt does not match what its audit event recorded: it was altered after the decision. Run `tenant-mfa audit verify`.",
  "audit.chain_damaged":
    "An event of this audit chain cannot be read (not JSON as the store writes it): the chain was altered outside the service. Retrying will not help: run `tenant-mfa audit verify` to find the first broken link.",
  "recovery_code.not_configured": "This server has no hasher for recovery codes.",
  "recovery_code.malformed_code":
    "A recovery code is 20 letters and digits, as issued (dashes and spaces are ignored).",
  "recovery_code.wrong_code": "The recovery code is not valid.",
  "recovery_code.used": "This recovery code was used already; each code works once.",
  "recovery_code.locked":
    "Too many failed attempts: the recovery codes are locked until an administrator unlocks the principal or revokes them.",
  "webauthn.not_configured":
    "This tenant has no WebAuthn relying party: set one with PUT /v1/tenants/:tenant/webauthn.",
  "webauthn.settings_conflict":
    "The tenant's WebAuthn settings changed since you read them; read them again and retry.",
  "webauthn.settings_invalid": "The WebAuthn settings are not valid.",
  "webauthn.challenge_unknown":
    "This WebAuthn ceremony was not started here for this principal, or was completed already. Start again.",
  "webauthn.challenge_expired": "This WebAuthn ceremony took too long. Start again.",
  "webauthn.malformed_response": "The WebAuthn response could not be read.",
  "webauthn.wrong_type": "The WebAuthn response is of another ceremony type.",
  "webauthn.challenge_mismatch": "The WebAuthn response answers another challenge.",
  "webauthn.origin_not_allowed":
    "The WebAuthn response comes from an origin the tenant does not allow.",
  "webauthn.cross_origin": "The WebAuthn ceremony ran in a cross-origin frame.",
  "webauthn.rp_id_mismatch": "The credential belongs to another relying party.",
  "webauthn.user_not_present": "The authenticator did not confirm the user's presence.",
  "webauthn.user_not_verified":
    "The tenant requires user verification (PIN or biometric), and the authenticator did not verify the user.",
  "webauthn.backup_flags_invalid":
    "The authenticator says the credential is backed up but not backup eligible.",
  "webauthn.backup_eligibility_changed":
    "The credential's backup eligibility differs from what was registered.",
  "webauthn.bad_signature": "The WebAuthn signature does not verify.",
  "webauthn.algorithm_not_allowed": "The credential's key algorithm was not requested.",
  "webauthn.aaguid_not_allowed": "This authenticator model is not allowed in this tenant.",
  "webauthn.attestation_rejected": "The authenticator's attestation did not verify.",
  "webauthn.attestation_untrusted":
    "The authenticator's attestation does not chain to a trusted root, so its model is not proven.",
  "webauthn.credential_unknown": "The credential is not one of this principal's.",
  "webauthn.credential_exists": "This credential is registered already.",
  "webauthn.no_credentials": "The principal has no WebAuthn credential: register one first.",
  "webauthn.clone_detected":
    "The authenticator's signature counter went backwards: it may have been cloned.",
  "webauthn.concurrent_use": "The credential was used concurrently; try again.",
  "webauthn.locked":
    "This credential is locked, by too many failed attempts or by a clone signal under the tenant's `lock` policy, until an administrator unlocks the principal or resets it.",
  "webauthn.unavailable":
    "The WebAuthn response cannot be checked now; nothing was judged and the ceremony is kept: send it again shortly.",
  "store.record_damaged":
    "A stored row holds text that is not JSON: it was altered outside the service. Retrying will not help: restore it from a backup (`details.damaged` names it).",
  "store.unavailable": "The service cannot reach its store; no decision can be made now.",
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An expected failure with a stable code, a message for people, and optional details. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, message?: string, details?: Readonly<Record<string, unknown>>) {
    super(message ?? ERROR_CODES[code]);
    this.name = "AppError";
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

/** How a front end names a field of a use case's input: as the API does, or as a CLI flag. */
export type FieldNamer = (field: string) => string;

/** A field as the API names it. */
const apiName: FieldNamer = (field) => field;

/** One field a use case refused, and why, in words that name fields through the namer given. */
export interface FieldProblem {
  readonly field: string;
  readonly detail: (name: FieldNamer) => string;
}

/**
 * A `request.invalid` refusal of fields that passed their front end's own checks but not the use
 * case's (a period's order or length, say). It names each field, so that the HTTP layer points at
 * it as it points at a field its schema refuses, and the CLI names the flag that gave it; its
 * message names the fields as the API does.
 */
export class InvalidInput extends AppError {
  readonly problems: readonly FieldProblem[];
  readonly #summary: (name: FieldNamer) => string;

  constructor(summary: (name: FieldNamer) => string, problems: readonly FieldProblem[]) {
    super("request.invalid", summary(apiName));
    this.name = "InvalidInput";
    this.#summary = summary;
    this.problems = problems;
  }

  /** The message, with each field named by `name`. */
  describe(name: FieldNamer): string {
    return this.#summary(name);
  }

  /** Each field refused and why, named by `name` (by default as the API names them). */
  fields(name: FieldNamer = apiName): { readonly field: string; readonly detail: string }[] {
    return this.problems.map((p) => ({ field: p.field, detail: p.detail(name) }));
  }
}
