import { assuranceEvents, type Assurance } from "./assurance.js";
import { challengeOptions } from "./challenge.js";
import type { ChallengeOption, SatisfiedBy, UsedExemption } from "./decision.js";
import type { EnrolledAuthenticator } from "./evidence.js";
import type { IdpProfile } from "./input.js";
import type { Exemption } from "./policy.js";
import type { PreparedRequirement } from "./prepared-requirement.js";
import type { Requirements } from "./rule-join.js";
import { reason, type Reason } from "./reasons.js";
import type { EffectiveRequirement } from "./requirement.js";
import { findSatisfaction } from "./satisfaction.js";
import { formatTime, isCanonicalShape, parseTime } from "./time.js";
import type { Outcome, Population } from "./vocabulary.js";

/** The part of a decision that depends on which rules are enforced. */
export interface Verdict {
  readonly outcome: Outcome;
  readonly requirement: EffectiveRequirement;
  readonly satisfiedBy: SatisfiedBy | null;
  readonly exemption: UsedExemption | null;
  readonly reasons: readonly Reason[];
  readonly challenge: readonly ChallengeOption[];
}

/** What every verdict of one decision shares: the sign-in's evidence and who signs in. */
export interface SignIn {
  readonly now: number;
  /**
   * Every assurance the evidence offers, computed once for all verdicts of the decision: each
   * usable event on its own, in the order given, then the pairs.
   */
  readonly assurances: readonly Assurance[];
  readonly lastActivityAt: number | undefined;
  /** The population the principal is held to. */
  readonly population: Population;
  readonly authenticators: readonly EnrolledAuthenticator[];
  readonly idps: readonly IdpProfile[] | undefined;
}

/** Decisions share these frozen values rather than building equal ones. */
export const NO_CHALLENGE: readonly ChallengeOption[] = Object.freeze([]);
const MET: readonly Reason[] = Object.freeze([reason("requirement.met")]);
const UNAVAILABLE = reason("challenge.unavailable");

/**
 * The verdict under `requirement`; when that is not `allow` and a usable exemption exists, the
 * verdict under what no exemption excuses: non-exemptible mandates and the requested step-up.
 */
export function verdictWithExemption(
  signIn: SignIn,
  requirement: PreparedRequirement,
  requirements: Requirements,
  exemption: Exemption | undefined,
): Verdict {
  const plain = verdict(signIn, requirement);
  if (plain.outcome === "allow" || exemption === undefined) return plain;
  const residual = verdict(signIn, requirements.residual());
  if (residual.outcome !== "allow") {
    const notExemptible = requirements.rules.notExemptibleReason;
    if (notExemptible === undefined) return residual;
    return { ...residual, reasons: [notExemptible, ...residual.reasons] };
  }
  const breakGlass = exemption.category === "break_glass";
  // The expiry read when the exemption was picked. A canonical text is the one formatTime would
  // write back: answered as it is, neither read nor written again.
  const given = exemption.expiresAt;
  const expiresAt = isCanonicalShape(given) ? given : formatTime(parseTime(given) ?? Number.NaN);
  return {
    ...residual,
    exemption: {
      id: exemption.id,
      category: exemption.category,
      expiresAt,
      breakGlass,
      excused: plain.requirement,
    },
    // The residual requirement was met, not the tenant's: say so through the exemption alone.
    reasons: [
      reason(breakGlass ? "exemption.break_glass" : "exemption.applied", { date: expiresAt }),
    ],
  };
}

/** The verdict of the evidence against one requirement. */
export function verdict(signIn: SignIn, prepared: PreparedRequirement): Verdict {
  const requirement = prepared.requirement;
  if (!prepared.satisfiable) {
    return unmet("deny", requirement, prepared.conflictReasons(), NO_CHALLENGE);
  }
  const satisfaction = findSatisfaction(
    signIn.assurances,
    prepared,
    signIn.now,
    signIn.lastActivityAt,
  );
  if (satisfaction.met) {
    const { by } = satisfaction;
    return {
      outcome: "allow",
      requirement,
      satisfiedBy: {
        events: assuranceEvents(by),
        aal: by.aal,
        phishingResistant: by.phishingResistant,
        provenAt: by.provenAtText ?? formatTime(by.provenAt),
      },
      exemption: null,
      reasons: MET,
      challenge: NO_CHALLENGE,
    };
  }
  const challenge = challengeOptions({
    requirement: prepared,
    assurances: signIn.assurances,
    authenticators: signIn.authenticators,
    idps: signIn.idps,
    population: signIn.population,
    staleOnly: satisfaction.staleOnly,
    now: signIn.now,
  });
  if (challenge.length === 0) {
    return unmet("deny", requirement, [...satisfaction.reasons, UNAVAILABLE], NO_CHALLENGE);
  }
  return unmet("challenge", requirement, satisfaction.reasons, challenge);
}

function unmet(
  outcome: Outcome,
  requirement: EffectiveRequirement,
  reasons: readonly Reason[],
  challenge: readonly ChallengeOption[],
): Verdict {
  return { outcome, requirement, satisfiedBy: null, exemption: null, reasons, challenge };
}
