import { isPrimaryFactor, type Assurance } from "./assurance.js";
import type { ChallengeOption } from "./decision.js";
import type { AuthenticationEvent, EnrolledAuthenticator } from "./evidence.js";
import type { IdpProfile } from "./input.js";
import { methodBit, type PreparedRequirement } from "./prepared-requirement.js";
import { REFEDS_MFA, type Population } from "./vocabulary.js";

/** What the guidance needs to know besides the requirement. */
export interface GuidanceContext {
  readonly requirement: PreparedRequirement;
  /** The sign-in's assurances: its usable events on their own, then the pairs. */
  readonly assurances: readonly Assurance[];
  readonly authenticators: readonly EnrolledAuthenticator[];
  readonly idps: readonly IdpProfile[] | undefined;
  readonly population: Population;
  /** The nearest miss was only a matter of time: the IdP must authenticate afresh. */
  readonly staleOnly: boolean;
  readonly now: number;
}

type PlatformOption = Extract<ChallengeOption, { kind: "verify" | "enroll" }>;
type IdpStepUp = Extract<ChallengeOption, { kind: "idp_step_up" }>;
type UserVerification = "required" | "preferred";

// Options that name no authenticator are the same for every decision: shared, frozen values.
const REAUTHENTICATE: ChallengeOption = Object.freeze({ kind: "reauthenticate" });
const VERIFY_WEBAUTHN: Readonly<Record<UserVerification, PlatformOption>> = {
  required: Object.freeze({ kind: "verify", method: "webauthn", userVerification: "required" }),
  preferred: Object.freeze({ kind: "verify", method: "webauthn", userVerification: "preferred" }),
};
const VERIFY_TOTP: PlatformOption = Object.freeze({
  kind: "verify",
  method: "totp",
  userVerification: "preferred",
});
const VERIFY_RECOVERY_CODE: PlatformOption = Object.freeze({
  kind: "verify",
  method: "recovery_code",
  userVerification: "preferred",
});
const enrollWebAuthn = (userVerification: UserVerification, deviceBound: boolean): PlatformOption =>
  Object.freeze({ kind: "enroll", method: "webauthn", userVerification, deviceBound });
/** Indexed by `[userVerification][deviceBound ? 1 : 0]`. */
const ENROLL_WEBAUTHN: Readonly<
  Record<UserVerification, readonly [PlatformOption, PlatformOption]>
> = {
  required: [enrollWebAuthn("required", false), enrollWebAuthn("required", true)],
  preferred: [enrollWebAuthn("preferred", false), enrollWebAuthn("preferred", true)],
};
const ENROLL_TOTP: PlatformOption = Object.freeze({
  kind: "enroll",
  method: "totp",
  userVerification: "preferred",
  deviceBound: false,
});
const REFEDS_MFA_VALUES: readonly string[] = Object.freeze([REFEDS_MFA]);
/** No IdP profile given: one generic step-up. */
const GENERIC_IDP: readonly (IdpProfile | undefined)[] = Object.freeze([undefined]);

const WEBAUTHN = methodBit("webauthn");
const TOTP = methodBit("totp");
const FEDERATED = methodBit("federated");

/**
 * The ways to satisfy an unmet requirement, in the order to offer them: verify an enrolled
 * authenticator that can meet it, else enrol one that can, then step up at the IdP. SSO users
 * take their proof from the IdP, so for them the IdP comes first. A second factor, and any
 * enrolment, needs a fresh first factor (for a key's enrolment, a key that just verified the user
 * will do); when none is at hand and every platform option needs one, `reauthenticate` leads
 * them. Only verifying an enrolled key that verifies the user needs none. An empty list means no
 * accepted path exists.
 */
export function challengeOptions(context: GuidanceContext): ChallengeOption[] {
  const { requirement: r } = context;
  const onPlatform = r.accepts("platform");
  const needsAal3 = r.minAal >= 3;
  const needsUv = r.userVerification;
  const userVerification = needsUv ? "required" : "preferred";
  // TOTP and recovery codes are second factors: AAL2 at most, never phishing-resistant.
  const otpCanMeet = onPlatform && !r.phishingResistant && !needsAal3;
  const webauthnCanMeet = onPlatform && (r.methods & WEBAUTHN) !== 0;

  // Platform options first; `reauthenticate` and the IdP step-ups join them in order below.
  // `new Array()`, not `[]`: V8 makes it with room for four elements, where `[]` has none and
  // its first push goes through the array-growing builtin (about 180 instructions).
  const options = new Array<ChallengeOption>();
  let everyOptionNeedsFirstFactor = true;
  for (const a of context.authenticators) {
    if (a.method === "webauthn") {
      const canReachAal3 = a.attested === true && !a.backupEligible;
      if (!webauthnCanMeet || (needsAal3 && !canReachAal3) || (needsUv && !a.userVerifying)) {
        continue;
      }
      if (a.userVerifying) everyOptionNeedsFirstFactor = false;
      options.push(
        a.id === undefined
          ? needsUv
            ? VERIFY_WEBAUTHN.required
            : VERIFY_WEBAUTHN.preferred
          : { kind: "verify", method: "webauthn", authenticatorId: a.id, userVerification },
      );
    } else if (otpCanMeet && (r.methods & methodBit(a.method)) !== 0) {
      if (a.method === "recovery_code" && a.remaining <= 0) continue;
      options.push(verifySecondFactor(a));
    }
  }
  if (options.length === 0) {
    // Enrolling binds a new way to sign in as this principal, so it follows a fresh sign-in even
    // for a key that will verify the user: until then nothing says who is enrolling
    // (SP 800-63B-4 §4.1.2). Library callers follow these options as they are. A key that just
    // verified the user is such a sign-in on its own; a TOTP enrolled after it still needs a
    // first factor to pair with, so only the key's enrolment is freed by it.
    if (webauthnCanMeet) {
      if (hasFreshUserVerifyingKey(context)) everyOptionNeedsFirstFactor = false;
      options.push(ENROLL_WEBAUTHN[userVerification][needsAal3 ? 1 : 0]);
    }
    if (otpCanMeet && (r.methods & TOTP) !== 0) options.push(ENROLL_TOTP);
  }

  if (options.length > 0 && everyOptionNeedsFirstFactor && !hasFreshFirstFactor(context)) {
    options.unshift(REAUTHENTICATE);
  }
  if (!r.accepts("idp") || (r.methods & FEDERATED) === 0) return options;
  const atIdp = idpStepUps(context);
  // SSO users take their proof from the IdP: its step-ups lead.
  if (context.population !== "sso") {
    for (const option of atIdp) options.push(option);
    return options;
  }
  for (const option of options) atIdp.push(option);
  return atIdp;
}

/** Verify an enrolled TOTP or recovery-code authenticator (or whatever else the caller listed). */
function verifySecondFactor(
  a: Exclude<EnrolledAuthenticator, { method: "webauthn" }>,
): PlatformOption {
  if (a.method === "totp" && a.id !== undefined) {
    return { kind: "verify", method: "totp", authenticatorId: a.id, userVerification: "preferred" };
  }
  if (a.method === "totp") return VERIFY_TOTP;
  if (a.method === "recovery_code") return VERIFY_RECOVERY_CODE;
  // Only an untyped caller lists other methods; it is offered what it named, as ever.
  const method = (a as { method: PlatformOption["method"] }).method;
  return { kind: "verify", method, userVerification: "preferred" };
}

/** Whether a usable event on its own is a first factor within the reauthentication interval. */
const hasFreshFirstFactor = (context: GuidanceContext): boolean =>
  hasFreshSingleEvent(context, isPrimaryFactor);

/**
 * Whether a WebAuthn event that verified the user lies within the reauthentication interval: a
 * multi-factor sign-in on its own, which a first factor would add nothing to.
 */
const hasFreshUserVerifyingKey = (context: GuidanceContext): boolean =>
  hasFreshSingleEvent(context, (e) => e.method === "webauthn" && e.userVerified);

/** Whether a usable event on its own, of this kind, lies within the reauthentication interval. */
function hasFreshSingleEvent(
  context: GuidanceContext,
  ofKind: (event: AuthenticationEvent) => boolean,
): boolean {
  const limit = context.requirement.reauthIntervalMs;
  for (const a of context.assurances) {
    if (a.firstFactor === undefined && ofKind(a.proving) && context.now - a.provenAt <= limit) {
      return true;
    }
  }
  return false;
}

/** Whether the IdP already answered: a usable event is federated. */
function hasFederatedEvent(context: GuidanceContext): boolean {
  for (const a of context.assurances) if (a.proving.method === "federated") return true;
  return false;
}

function idpStepUps(context: GuidanceContext): ChallengeOption[] {
  const r = context.requirement.requirement;
  const maxAge = r.maxAgeSeconds.value;
  const reauth = r.reauthIntervalSeconds.value;
  const maxAgeSeconds = maxAge === null ? reauth : Math.min(maxAge, reauth);
  // The IdP already answered without enough: asking again without forcing a fresh
  // authentication would return the same single-factor session (REFEDS step-up model).
  const forceAuthn = context.staleOnly || hasFederatedEvent(context);
  const phishingResistant = r.phishingResistant.value;
  const profiles = context.idps ?? GENERIC_IDP;
  return profiles.map((profile) => {
    const mfa = profile?.mfaRequestValues ?? REFEDS_MFA_VALUES;
    const values = phishingResistant ? (profile?.phishingResistantRequestValues ?? mfa) : mfa;
    const option: { -readonly [K in keyof IdpStepUp]: IdpStepUp[K] } = {
      kind: "idp_step_up",
      acrValues: values,
      authnContextClassRefs: values,
      maxAgeSeconds,
      forceAuthn,
      phishingResistant,
    };
    if (profile !== undefined) option.idp = profile.id;
    return option;
  });
}
