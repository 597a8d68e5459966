import { assuranceOf, isPrimaryFactor, pairAssurance, type Assurance } from "./assurance.js";
import type { AuthenticationEvent } from "./evidence.js";
import { GAP, STALE, methodBit, type PreparedRequirement } from "./prepared-requirement.js";
import type { Reason } from "./reasons.js";

const usesUnverifiedWebAuthn = (event: AuthenticationEvent): boolean =>
  event.method === "webauthn" && !event.userVerified;

/**
 * What one usable event proves on its own (see {@link assuranceOf}), dated by its parsed time.
 * `canonicalAt` is the event's own text when it is already in the canonical ISO form, so that a
 * decision satisfied by it does not write the same text again.
 */
export function singleAssurance(
  event: AuthenticationEvent,
  at: number,
  canonicalAt: string | undefined,
): Assurance {
  const { aal, phishingResistant } = assuranceOf(event);
  return {
    aal,
    phishingResistant,
    provingMethod: event.method,
    source: event.source,
    firstFactor: undefined,
    proving: event,
    startedAt: at,
    provenAt: at,
    provenAtText: canonicalAt,
    firstFactorAtText: undefined,
    unverifiedWebAuthn: usesUnverifiedWebAuthn(event),
  };
}

/**
 * Adds to the assurances of single events (in their order) each first factor paired with a
 * second factor of another kind, so that the list holds every assurance the evidence offers.
 * Sign-ins carry few events, so enumerating pairs is cheap.
 */
export function addPairs(assurances: Assurance[]): void {
  // Indexed loops over the singles only: these run on every decision.
  const singles = assurances.length;
  for (let i = 0; i < singles; i++) {
    const first = assurances[i] as Assurance;
    if (!isPrimaryFactor(first.proving)) continue;
    for (let j = 0; j < singles; j++) {
      const second = assurances[j] as Assurance;
      const paired = pairAssurance(second.proving);
      if (paired === undefined) continue;
      assurances.push({
        aal: paired.aal,
        phishingResistant: paired.phishingResistant,
        provingMethod: second.provingMethod,
        source: second.source,
        firstFactor: first.proving,
        proving: second.proving,
        startedAt: Math.min(first.provenAt, second.provenAt),
        // Freshness is that of the step that proves MFA: a fresh password does not refresh it.
        provenAt: second.provenAt,
        provenAtText: second.provenAtText,
        firstFactorAtText: first.provenAtText,
        unverifiedWebAuthn: first.unverifiedWebAuthn || second.unverifiedWebAuthn,
      });
    }
  }
}

/** True when the assurance is strong enough, ignoring which method, source and time. */
function isStrongEnough(assurance: Assurance, requirement: PreparedRequirement): boolean {
  return (
    assurance.aal >= requirement.minAal &&
    (assurance.phishingResistant || !requirement.phishingResistant) &&
    !(requirement.userVerification && assurance.unverifiedWebAuthn)
  );
}

/** The {@link STALE} bits of a strong enough assurance of an accepted kind; 0 when fresh. */
function staleness(
  assurance: Assurance,
  requirement: PreparedRequirement,
  now: number,
  lastActivityAt: number | undefined,
): number {
  let stale = 0;
  if (now - assurance.provenAt > requirement.maxAgeMs) stale |= STALE.maxAge;
  if (now - assurance.startedAt > requirement.reauthIntervalMs) stale |= STALE.reauthInterval;
  if (lastActivityAt !== undefined) {
    const active = Math.max(lastActivityAt, assurance.provenAt);
    if (now - active > requirement.idleTimeoutMs) stale |= STALE.idleTimeout;
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
  requirement: PreparedRequirement,
  now: number,
  lastActivityAt: number | undefined,
): Satisfaction {
  let best: Assurance | undefined;
  let firstStale = 0;
  let strong = false;
  let strongMethod = false;
  let anyReachesAal = false;
  let anyPhishingResistant = false;
  let anyUnverifiedWebAuthn = false;
  for (let i = 0; i < assurances.length; i++) {
    const assurance = assurances[i] as Assurance;
    if (assurance.aal >= requirement.minAal) anyReachesAal = true;
    if (assurance.phishingResistant) anyPhishingResistant = true;
    if (assurance.unverifiedWebAuthn) anyUnverifiedWebAuthn = true;
    if (!isStrongEnough(assurance, requirement)) continue;
    strong = true;
    if ((requirement.methods & methodBit(assurance.provingMethod)) === 0) continue;
    strongMethod = true;
    if (!requirement.accepts(assurance.source)) continue;
    const stale = staleness(assurance, requirement, now, lastActivityAt);
    if (stale !== 0) {
      if (firstStale === 0) firstStale = stale;
      continue;
    }
    if (best === undefined || isBetter(assurance, best)) best = assurance;
  }
  if (best !== undefined) return { met: true, by: best };
  if (firstStale !== 0) {
    return { met: false, reasons: requirement.staleReasons(firstStale), staleOnly: true };
  }
  let gaps = 0;
  if (!anyReachesAal) gaps |= GAP.aal;
  if (requirement.phishingResistant && !anyPhishingResistant) gaps |= GAP.phishingResistance;
  if (requirement.userVerification && anyUnverifiedWebAuthn) gaps |= GAP.userVerification;
  return {
    met: false,
    reasons: requirement.strengthGaps(assurances.length > 0, strong, strongMethod, gaps),
    staleOnly: false,
  };
}

function isBetter(candidate: Assurance, current: Assurance): boolean {
  if (candidate.aal !== current.aal) return candidate.aal > current.aal;
  if (candidate.phishingResistant !== current.phishingResistant) return candidate.phishingResistant;
  return candidate.provenAt > current.provenAt;
}
