/**
 * The English text of the hosted flow pages: every word a page shows, by stable key, with
 * `{placeholders}` filled at render time. Other languages translate these keys; a key missing
 * from a translation falls back to this catalogue. Values are plain text: the renderer escapes
 * them, so a translation can never inject markup.
 *
 * @module
 */
export const en = {
  "page.title": "{heading} · {tenant}",
  "page.signing_in_as": "Signing in as {principal}",
  "page.expires": "For your security, this page stops working at {time}.",
  "page.logo_alt": "{tenant} logo",
  "page.service": "Multi-factor authentication",
  "page.needs_javascript":
    "Passkeys and security keys need JavaScript. Turn JavaScript on and reload this page, or choose another way if one is offered.",
  "page.webauthn_unsupported":
    "This browser cannot use passkeys or security keys. Try another browser or device, or choose another way if one is offered.",
  "page.webauthn_cancelled":
    "The passkey or security key request was cancelled or timed out. Try again when you are ready.",
  "page.webauthn_failed":
    "The passkey or security key could not be used. Try again, or choose another way if one is offered.",
  "page.webauthn_start_failed": "The request could not be started. Reload the page and try again.",
  "page.webauthn_busy": "Waiting for your passkey or security key…",

  "challenge.heading": "Verify it’s you",
  "challenge.lead": "{tenant} asks for a second step to finish signing in.",
  "challenge.step_up": "This action needs a stronger or more recent verification.",
  "challenge.proven": "Already done in this sign-in: {methods}.",
  "challenge.choose": "Choose one of these ways:",

  "method.password": "password",
  "method.totp": "authenticator app",
  "method.webauthn": "passkey or security key",
  "method.recovery_code": "recovery code",
  "method.federated": "your organisation’s sign-in",

  "option.verify_totp.heading": "Authenticator app",
  "option.verify_totp.intro": "Enter the code shown in your authenticator app.",
  "option.verify_totp.authenticator": "Authenticator",
  "option.verify_totp.code": "Code from the app",
  "option.verify_totp.submit": "Verify",
  "option.verify_webauthn.heading": "Passkey or security key",
  "option.verify_webauthn.intro":
    "Use the passkey on this device, or insert and touch your security key.",
  "option.verify_webauthn.submit": "Use a passkey or security key",
  "option.verify_recovery_code.heading": "Recovery code",
  "option.verify_recovery_code.intro":
    "Lost access to your other methods? Enter one of the recovery codes you saved. Each code works once.",
  "option.verify_recovery_code.code": "Recovery code",
  "option.verify_recovery_code.submit": "Use recovery code",
  "option.enroll_totp.heading": "Set up an authenticator app",
  "option.enroll_totp.intro":
    "Use an app such as a password manager or an authenticator on your phone.",
  "option.enroll_totp.submit": "Set up an authenticator app",
  "option.enroll_webauthn.heading": "Set up a passkey",
  "option.enroll_webauthn.intro":
    "Sign in with your fingerprint, face or device PIN, or a security key.",
  "option.enroll_webauthn.submit": "Set up a passkey",
  "option.enroll_webauthn.device_bound.heading": "Register a security key",
  "option.enroll_webauthn.device_bound.intro":
    "This needs a hardware security key of a make the platform recognises. A passkey on a phone or a computer is not enough here.",
  "option.enroll_webauthn.device_bound.submit": "Register a security key",
  "option.idp.heading": "{idp}",
  "option.idp.intro": "Verify at your organisation’s sign-in page.",
  "option.idp.submit": "Continue with {idp}",
  "option.reauthenticate.heading": "Sign in again",
  "option.reauthenticate.intro": "Your sign-in needs to be checked again before you continue.",
  "option.reauthenticate.submit": "Sign in again",

  "enroll_totp.heading": "Set up your authenticator app",
  "enroll_totp.lead": "Add {tenant} to your authenticator app, then enter the code it shows.",
  "enroll_totp.scan": "Scan this QR code with your authenticator app.",
  "enroll_totp.qr_label": "QR code for your authenticator app",
  "enroll_totp.open_app": "Open in an authenticator app on this device",
  "enroll_totp.type": "Can’t scan it? Enter this key in the app instead:",
  "enroll_totp.secret_label": "Setup key",
  "enroll_totp.confirm": "Enter the code your app now shows to finish.",
  "enroll_totp.code": "Code from the app",
  "enroll_totp.submit": "Confirm and continue",

  "enroll_webauthn.heading": "Set up a passkey",
  "enroll_webauthn.lead":
    "A passkey lets you verify with your fingerprint, face or device PIN. Your browser will guide you.",
  "enroll_webauthn.device_bound.heading": "Register a security key",
  "enroll_webauthn.device_bound.lead":
    "Insert a hardware security key and follow your browser’s prompts; when it asks, let this site see the key’s make and model, which proves it is hardware. A passkey on a phone or a computer is not enough here.",
  "enroll_webauthn.name": "Name for this key (optional)",
  "enroll_webauthn.name_hint":
    "For example “Work laptop” or “Blue key”, so you can tell your keys apart.",
  "enroll_webauthn.submit": "Create passkey",
  "enroll_webauthn.device_bound.submit": "Register security key",

  "exemption.heading": "An exemption is in force",
  "exemption.lead":
    "Your administrator has excused you from {tenant}’s multi-factor requirement for a limited time.",
  "exemption.category": "Category",
  "exemption.ends": "Ends",
  "exemption.break_glass":
    "This is emergency access: this sign-in is recorded and will be reviewed.",
  "exemption.after": "After it ends you will need to verify as usual.",
  "exemption.continue": "Continue",
  "category.break_glass": "Break-glass (emergency) access",
  "category.legacy_integration": "Legacy integration",
  "category.temporary_access": "Temporary access",
  "category.shared_login": "Shared login",

  "report_only.heading": "Multi-factor authentication is coming",
  "report_only.lead": "From {date}, {tenant} will ask for a second step when you sign in.",
  "report_only.setup": "Set it up now",
  "report_only.setup_intro": "It takes a minute, and you won’t be interrupted later.",
  "report_only.ready": "You’re all set: what you have already meets the new requirement.",
  "report_only.continue": "Continue without setting up",
  "report_only.continue_ready": "Continue",

  "denied.heading": "You can’t sign in right now",
  "denied.lead": "{tenant}’s security policy does not allow this sign-in.",
  "denied.why": "Why",
  "denied.what_to_do": "What to do",
  "denied.contact":
    "Contact your administrator and give them the reference below. They can check the policy and help you find a way to sign in.",
  "denied.stale_binding":
    "Your sign-in at {idp} has changed: an administrator of {tenant} must link your account to it again before you can sign in there. Give them the reason and the reference below.",
  "denied.reason": "Reason: {reason}",
  "denied.reference": "Reference: {reference}",
  "denied.return": "Return to the application",
  // The reasons a denied page gives, by reason code: in English, the messages of src/core/reasons.ts.
  "reason.requirement.met": "Your sign-in meets your organisation's MFA requirement.",
  "reason.requirement.unmet.aal":
    "This sign-in needs a stronger proof of identity: a second factor is required.",
  "reason.requirement.unmet.aal3":
    "This sign-in needs a hardware security key, of a make the platform recognises, that verifies you.",
  "reason.requirement.unmet.phishing_resistance":
    "This sign-in needs a phishing-resistant method, such as a passkey or security key.",
  "reason.requirement.unmet.user_verification":
    "Your security key or passkey must verify you with a PIN or biometric.",
  "reason.requirement.unmet.method": "The method you used is not one your organisation accepts.",
  "reason.requirement.unmet.proof_source":
    "Your organisation requires MFA proven elsewhere: at its identity provider or on this platform.",
  "reason.requirement.conflict":
    "The platform's mandates and your organisation's policy cannot both be met. Ask your administrator to align the policy.",
  "reason.freshness.max_age_exceeded": "Your last MFA is too old for this. Please verify again.",
  "reason.session.reauth_interval_exceeded":
    "Your sign-in has lasted longer than allowed. Please sign in again.",
  "reason.session.idle_timeout_exceeded":
    "Your session was idle for too long. Please verify again.",
  "reason.evidence.none": "No authentication was recorded for this sign-in.",
  "reason.evidence.ignored.invalid": "An authentication step was malformed and was not counted.",
  "reason.evidence.ignored.from_future":
    "An authentication step is dated in the future and was not counted.",
  "reason.evidence.ignored.foreign_tenant":
    "Proof from another organisation's identity provider does not count here.",
  "reason.evidence.ignored.no_assurance":
    "Your identity provider did not state how you signed in, so it proves no MFA.",
  "reason.population.guest": "MFA policy does not apply to guest access.",
  "reason.population.integration_token":
    "Token-based integrations authenticate without interactive MFA.",
  "reason.population.integration_interactive":
    "An integration signing in interactively or with a password is treated as a person and must use MFA. Move it to a token-based grant.",
  "reason.policy.report_only":
    "Your organisation will require MFA from {date}. Set it up now to avoid interruption.",
  "reason.policy.overridden_by_mandate":
    "A platform-wide security requirement applies in addition to your organisation's policy.",
  "reason.risk.elevated": "Extra verification is needed because this sign-in looks unusual.",
  "reason.step_up.requested": "This action needs a stronger or more recent verification.",
  "reason.exemption.applied": "An approved exemption applies until {date}.",
  "reason.exemption.break_glass":
    "Break-glass access is in use until {date}; this sign-in is recorded.",
  "reason.exemption.not_exemptible":
    "Your exemption does not cover a platform requirement that cannot be exempted.",
  "reason.exemption.shared_login_refused":
    "Shared logins can never be exempted from MFA; each person needs their own account.",
  "reason.challenge.unavailable":
    "There is no way to meet the requirement with what your organisation offers. Contact your administrator.",
  "reason.input.invalid": "The request could not be evaluated: {detail}.",
  "reason.policy.invalid": "The MFA policy could not be read: {detail}.",
  "reason.engine.error": "The decision could not be computed, so access is not granted.",

  "failure.heading": "This sign-in can’t continue",
  "failure.start_again": "Go back to the application and sign in again.",
  "failure.reference": "Reference: {reference}",
  "failure.flow.not_found.title": "This sign-in link is not valid",
  "failure.flow.not_found.body":
    "The link may be incomplete or mistyped, or the sign-in may have been removed.",
  "failure.flow.expired.title": "This sign-in has expired",
  "failure.flow.expired.body": "Sign-in pages only work for a short time, for your security.",
  "failure.flow.used.title": "This sign-in was already completed",
  "failure.flow.used.body": "Each sign-in page can be used only once.",
  "failure.flow.other_browser.title": "This sign-in was started in another browser",
  "failure.flow.other_browser.body":
    "For your security, a sign-in must be finished in the browser where it started. If you did not start it, you can close this page.",
  "failure.flow.csrf.title": "This form was not accepted",
  "failure.flow.csrf.body":
    "The page may be out of date or have been opened from another site. Reload the sign-in page and try again.",
  "failure.flow.return_to_not_allowed.title": "The return address is not allowed",
  "failure.flow.return_to_not_allowed.body":
    "The application asked to send you to an address that the organisation has not registered. Tell your administrator.",
  "failure.flow.unavailable.title": "The service is unavailable",
  "failure.flow.unavailable.body":
    "Sign-in cannot be checked at the moment. Wait a minute and try again.",
  "failure.flow.cannot_complete.title": "This sign-in cannot be completed",
  "failure.flow.cannot_complete.body":
    "The service cannot complete this sign-in because of a fault on its side, and trying again will not help. Tell your administrator, quoting the reference below.",
  "failure.flow.bad_request.title": "The form could not be read",
  "failure.flow.bad_request.body":
    "Something in the submitted form was missing or malformed. Go back, reload the page and try again.",
  "failure.request.not_a_navigation.title": "Open this page in its own window",
  "failure.request.not_a_navigation.body":
    "This sign-in page works only when your browser opens it directly, not inside another page. Open the link you were given in a new tab or window.",

  "notice.totp.invalid_code": "That code is not valid. Check the code in your app and try again.",
  "notice.recovery_code.invalid": "That recovery code is not valid or was used already.",
  "notice.recovery_codes.running_low":
    "You are running low on recovery codes. Create new ones soon.",
  "notice.recovery_codes.running_low.detail": "Recovery codes left: {remaining}.",
  "notice.recovery_codes.exhausted":
    "You have used your last recovery code. Create new ones now, so you can still get in if you lose your other methods.",
  "notice.webauthn.failed":
    "The passkey or security key could not be verified. Try again, or choose another way.",
  "notice.verification.throttled": "Too many attempts. Wait a moment, then try again.",
  "notice.verification.throttled.detail": "You can try again in {retryAfter} seconds.",
  "notice.verification.locked":
    "Verification is locked after too many failed attempts. Contact your administrator to unlock it.",
  "notice.idp.mfa_unavailable":
    "Your organisation’s sign-in could not confirm a second step. Try again, or choose another way.",
  "notice.idp.rejected": "Your organisation’s sign-in answer could not be accepted. Try again.",
  "notice.idp.insufficient":
    "Your organisation’s sign-in did not prove enough for this: sign in there again with your second factor, or choose another way if one is offered.",
  "notice.enrolment.confirm_failed":
    "That code did not match. Check the time on your device, then enter the newest code.",
  "notice.enrolment.expired":
    "That setup took too long and was cancelled: its key no longer works. Delete it from your app, then set up again with a new one.",
  "notice.enrolment.not_allowed":
    "This method cannot be set up here. Choose another way, or contact your administrator.",
} as const satisfies Record<string, string>;

/** A key of the message catalogue. */
export type MessageKey = keyof typeof en;
