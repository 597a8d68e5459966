import { assuranceOf, isPrimaryFactor, pairAssurance, type Assurance } from "./assurance.js";
import type { AuthenticationEvent } from "./evidence.js";
import { reason, type Reason } from "./reasons.js";
import { acceptsSource, type EffectiveRequirement } from "./requirement.js";

/** An authentication event that passed the engine's checks, with its parsed time. */
export interface UsableEvent {
  readonly event: AuthenticationEvent;
  readonly at: number;
}

/**
 * Every assurance the evidence offers: each event on its own, and each first factor paired with
 * a second factor of another kind. Sign-ins carry few events, so enumerating pairs is cheap.
 */
export function assurancesOf(events: readonly UsableEvent[]): Assurance[] {
  const result: Assurance[] = [];
  for (const { event, at } of events) {
    const { aal, phishingResistant } = assuranceOf(event);
    result.push({
      aal,
      phishingResistant,
      provingMethod: event.method,
      source: event.source,
      events: [event],
      startedAt: at,
      provenAt: at,
    });
  }
  for (const first of events) {
    if (!isPrimaryFactor(first.event)) continue;
    for (const second of events) {
      const paired = pairAssurance(second.event);
      if (paired === undefined) continue;
      result.push({
        aal: paired.aal,
        phishingResistant: paired.phishingResistant,
        provingMethod: second.event.method,
        source: second.event.source,
        events: [first.event, second.event],
        startedAt: Math.min(first.at, second.at),
        // Freshness is that of the step that proves MFA: a fresh password does not refresh it.
        provenAt: second.at,
      });
    }
  }
  return result;
}

const usesUnverifiedWebAuthn = (assurance: Assurance): boolean =>
  assurance.events.some((e) => e.method === "webauthn" && !e.userVerified);

/** True when the assurance is strong enough, ignoring which method, source and time. */
function isStrongEnough(assurance: Assurance, requirement: EffectiveRequirement): boolean {
  return (
    assurance.aal >= requirement.minAal.value &&
    (assurance.phishingResistant || !requirement.phishingResistant.value) &&
    !(requirement.userVerification.value && usesUnverifiedWebAuthn(assurance))
  );
}

function isAcceptedKind(assurance: Assurance, requirement: EffectiveRequirement): boolean {
  return (
    requirement.acceptedMethods.value.includes(assurance.provingMethod) &&
    acceptsSource(requirement.proofSource.value, assurance.source)
  );
}

/** The reasons a strong enough assurance of an accepted kind is still not fresh enough. */
function staleness(
  assurance: Assurance,
  requirement: EffectiveRequirement,
  now: number,
  lastActivityAt: number | undefined,
): Reason[] {
  const stale: Reason[] = [];
  const maxAge = requirement.maxAgeSeconds.value;
  if (maxAge !== null && now - assurance.provenAt > maxAge * 1000) {
    stale.push(reason("freshness.max_age_exceeded", undefined, requirement.maxAgeSeconds.from[0]));
  }
  if (now - assurance.startedAt > requirement.reauthIntervalSeconds.value * 1000) {
    stale.push(
      reason(
        "session.reauth_interval_exceeded",
        undefined,
        requirement.reauthIntervalSeconds.from[0],
      ),
    );
  }
  const idle = requirement.idleTimeoutSeconds.value;
  if (idle !== null && lastActivityAt !== undefined) {
    const active = Math.max(lastActivityAt, assurance.provenAt);
    if (now - active > idle * 1000) {
      stale.push(
        reason("session.idle_timeout_exceeded", undefined, requirement.idleTimeoutSeconds.from[0]),
      );
    }
  }
  return stale;
}

/** Either the assurance that meets the requirement, or why none does. */
export type Satisfaction =
  | { readonly met: true; readonly by: Assurance }
  | { readonly met: false; readonly reasons: readonly Reason[]; readonly staleOnly: boolean };

/**
 * Finds an assurance that meets the requirement: strong enough, of an accepted method and
 * source, and fresh. Prefers the highest AAL, then phishing resistance, then the most recent.
 * When none does, explains the nearest miss: staleness if a fresh attempt would do, otherwise
 * what strength, method or source is missing.
 */
export function findSatisfaction(
  assurances: readonly Assurance[],
  requirement: EffectiveRequirement,
  now: number,
  lastActivityAt: number | undefined,
): Satisfaction {
  let best: Assurance | undefined;
  let staleReasons: Reason[] | undefined;
  let strong = false;
  let strongAccepted = false;
  let strongMethod = false;
  for (const assurance of assurances) {
    if (!isStrongEnough(assurance, requirement)) continue;
    strong = true;
    if (requirement.acceptedMethods.value.includes(assurance.provingMethod)) strongMethod = true;
    if (!isAcceptedKind(assurance, requirement)) continue;
    strongAccepted = true;
    const stale = staleness(assurance, requirement, now, lastActivityAt);
    if (stale.length > 0) {
      staleReasons ??= stale;
      continue;
    }
    if (best === undefined || isBetter(assurance, best)) best = assurance;
  }
  if (best !== undefined) return { met: true, by: best };
  if (strongAccepted && staleReasons !== undefined) {
    return { met: false, reasons: staleReasons, staleOnly: true };
  }
  return {
    met: false,
    reasons: strengthGaps(assurances, requirement, strong, strongMethod),
    staleOnly: false,
  };
}

function isBetter(candidate: Assurance, current: Assurance): boolean {
  if (candidate.aal !== current.aal) return candidate.aal > current.aal;
  if (candidate.phishingResistant !== current.phishingResistant) return candidate.phishingResistant;
  return candidate.provenAt > current.provenAt;
}

function strengthGaps(
  assurances: readonly Assurance[],
  requirement: EffectiveRequirement,
  strong: boolean,
  strongMethod: boolean,
): Reason[] {
  if (assurances.length === 0) return [reason("evidence.none")];
  if (strong) {
    return strongMethod
      ? [reason("requirement.unmet.proof_source", undefined, requirement.proofSource.from[0])]
      : [reason("requirement.unmet.method", undefined, requirement.acceptedMethods.from[0])];
  }
  const gaps: Reason[] = [];
  const minAal = requirement.minAal.value;
  if (!assurances.some((a) => a.aal >= minAal)) {
    gaps.push(
      reason(
        minAal >= 3 ? "requirement.unmet.aal3" : "requirement.unmet.aal",
        undefined,
        requirement.minAal.from[0],
      ),
    );
  }
  if (requirement.phishingResistant.value && !assurances.some((a) => a.phishingResistant)) {
    gaps.push(
      reason(
        "requirement.unmet.phishing_resistance",
        undefined,
        requirement.phishingResistant.from[0],
      ),
    );
  }
  if (requirement.userVerification.value && assurances.some(usesUnverifiedWebAuthn)) {
    gaps.push(
      reason(
        "requirement.unmet.user_verification",
        undefined,
        requirement.userVerification.from[0],
      ),
    );
  }
  // Each assurance fails on some combination; name the AAL when nothing more specific applies.
  if (gaps.length === 0) {
    gaps.push(reason("requirement.unmet.aal", undefined, requirement.minAal.from[0]));
  }
  return gaps;
}
