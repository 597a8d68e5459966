import type { FederatedEvent } from "./evidence.js";

/**
 * What a tenant accepts of one IdP's authentication times, from its registration of the IdP:
 * the limit holds whatever the policy asks, and a policy's own maximum age comes on top of it.
 */
export interface IdpAgeLimits {
  /** The oldest IdP authentication the tenant accepts from this IdP, in seconds. */
  readonly maxAuthenticationAgeSeconds: number;
  /** How far the IdP's clock may be from this service's, in seconds. */
  readonly clockSkewSeconds: number;
}

/**
 * Whether an IdP authentication at `at` is, at `now`, older than the tenant accepts from the IdP
 * (its `maxAuthenticationAgeSeconds`, whatever the policy), beyond the IdP's clock skew.
 */
export function olderThanAccepted(limits: IdpAgeLimits, at: Date, now: Date): boolean {
  const ageMs = now.getTime() - at.getTime();
  return ageMs > (limits.maxAuthenticationAgeSeconds + limits.clockSkewSeconds) * 1000;
}

/**
 * A federated event as it stands at a decision at `now`: the IdP's age limit holds at every
 * decision, not only when its answer was verified, so an authentication that grew too old since
 * (while a direct SAML answer waited for its browser, or while a hosted flow waited for the rest
 * of its proof) proves nothing, as one too old when verified does: no assurance, and
 * `authenticationTooOld` among its claims (REFEDS MFA: check the time, never assume it).
 */
export function agedWhileHeld(
  limits: IdpAgeLimits,
  event: FederatedEvent,
  now: Date,
): FederatedEvent {
  if (event.claims?.["authenticationTooOld"] === true) return event;
  if (!olderThanAccepted(limits, new Date(event.at), now)) return event;
  return {
    ...event,
    assurance: { aal: 0, phishingResistant: false },
    claims: { ...event.claims, authenticationTooOld: true },
  };
}
