import { isPrimaryFactor } from "./assurance.js";
import type { ChallengeOption } from "./decision.js";
import type { EnrolledAuthenticator } from "./evidence.js";
import type { IdpProfile } from "./input.js";
import { acceptsSource, type EffectiveRequirement } from "./requirement.js";
import type { UsableEvent } from "./satisfaction.js";
import { REFEDS_MFA, type Population } from "./vocabulary.js";

/** What the guidance needs to know besides the requirement. */
export interface GuidanceContext {
  readonly requirement: EffectiveRequirement;
  readonly events: readonly UsableEvent[];
  readonly authenticators: readonly EnrolledAuthenticator[];
  readonly idps: readonly IdpProfile[] | undefined;
  readonly population: Population;
  /** The nearest miss was only a matter of time: the IdP must authenticate afresh. */
  readonly staleOnly: boolean;
  readonly now: number;
}

type PlatformOption = Extract<ChallengeOption, { kind: "verify" | "enroll" }>;
type IdpStepUp = Extract<ChallengeOption, { kind: "idp_step_up" }>;

/**
 * The ways to satisfy an unmet requirement, in the order to offer them: verify an enrolled
 * authenticator that can meet it, else enrol one that can, then step up at the IdP. SSO users
 * take their proof from the IdP, so for them the IdP comes first. A second factor needs a fresh
 * first factor; when none is at hand and every platform option needs one, `reauthenticate`
 * leads. An empty list means no accepted path exists.
 */
export function challengeOptions(context: GuidanceContext): ChallengeOption[] {
  const { requirement: r } = context;
  const methods = r.acceptedMethods.value;
  const onPlatform = acceptsSource(r.proofSource.value, "platform");
  const needsAal3 = r.minAal.value >= 3;
  const needsUv = r.userVerification.value;
  const userVerification = needsUv ? "required" : "preferred";
  // TOTP and recovery codes are second factors: AAL2 at most, never phishing-resistant.
  const otpCanMeet = onPlatform && !r.phishingResistant.value && !needsAal3;
  const webauthnCanMeet = onPlatform && methods.includes("webauthn");

  const platform: PlatformOption[] = [];
  let everyOptionNeedsFirstFactor = true;
  for (const a of context.authenticators) {
    if (a.method === "webauthn") {
      if (!webauthnCanMeet || (needsAal3 && a.backupEligible) || (needsUv && !a.userVerifying)) {
        continue;
      }
      if (a.userVerifying) everyOptionNeedsFirstFactor = false;
      platform.push(
        a.id === undefined
          ? { kind: "verify", method: "webauthn", userVerification }
          : { kind: "verify", method: "webauthn", authenticatorId: a.id, userVerification },
      );
    } else if (otpCanMeet && methods.includes(a.method)) {
      if (a.method === "recovery_code" && a.remaining <= 0) continue;
      platform.push(
        a.method === "totp" && a.id !== undefined
          ? { kind: "verify", method: "totp", authenticatorId: a.id, userVerification: "preferred" }
          : { kind: "verify", method: a.method, userVerification: "preferred" },
      );
    }
  }
  if (platform.length === 0) {
    if (webauthnCanMeet) {
      everyOptionNeedsFirstFactor = false;
      platform.push({
        kind: "enroll",
        method: "webauthn",
        userVerification,
        deviceBound: needsAal3,
      });
    }
    if (otpCanMeet && methods.includes("totp")) {
      platform.push({
        kind: "enroll",
        method: "totp",
        userVerification: "preferred",
        deviceBound: false,
      });
    }
  }

  const options: ChallengeOption[] = [];
  if (platform.length > 0 && everyOptionNeedsFirstFactor && !hasFreshFirstFactor(context)) {
    options.push({ kind: "reauthenticate" });
  }
  options.push(...platform);

  if (acceptsSource(r.proofSource.value, "idp") && methods.includes("federated")) {
    const atIdp = idpStepUps(context);
    if (context.population === "sso") options.unshift(...atIdp);
    else options.push(...atIdp);
  }
  return options;
}

function hasFreshFirstFactor(context: GuidanceContext): boolean {
  const limit = context.requirement.reauthIntervalSeconds.value * 1000;
  return context.events.some((e) => isPrimaryFactor(e.event) && context.now - e.at <= limit);
}

function idpStepUps(context: GuidanceContext): ChallengeOption[] {
  const r = context.requirement;
  const maxAge = r.maxAgeSeconds.value;
  const reauth = r.reauthIntervalSeconds.value;
  const maxAgeSeconds = maxAge === null ? reauth : Math.min(maxAge, reauth);
  // The IdP already answered without enough: asking again without forcing a fresh
  // authentication would return the same single-factor session (REFEDS step-up model).
  const forceAuthn =
    context.staleOnly || context.events.some((e) => e.event.method === "federated");
  const phishingResistant = r.phishingResistant.value;
  const profiles = context.idps ?? [undefined];
  return profiles.map((profile) => {
    const mfa = profile?.mfaRequestValues ?? [REFEDS_MFA];
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
