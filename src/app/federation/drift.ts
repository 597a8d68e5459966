import type { IdpAssessment } from "../../core/idp-assurance.js";
import type { IdpObservation } from "../records.js";

/** A change in what an IdP proves that operators should hear about before users do. */
export type IdpDrift =
  | { readonly kind: "mfa_missing"; readonly since: string }
  | { readonly kind: "unmapped_value"; readonly values: readonly string[] };

/**
 * Compares what an IdP just proved with what it was last seen to prove. Two signals:
 * - `mfa_missing`: it had been proving MFA and this verified answer does not (a policy at the
 *   IdP was switched off, or it now sends a value the mapping does not know);
 * - `unmapped_value`: a context or `amr` value the mapping does not name, seen for the first time.
 * Each is reported once, on the change, not on every sign-in after it.
 */
export function observeIdp(
  previous: IdpObservation | undefined,
  assessment: IdpAssessment,
  at: { tenant: string; idp: string; now: string },
): { observation: IdpObservation; drifts: readonly IdpDrift[] } {
  const provingMfa = assessment.assurance.aal >= 2;
  const seen = new Set(previous?.unmappedSeen ?? []);
  const fresh = assessment.unmapped.filter((value) => !seen.has(value));
  const drifts: IdpDrift[] = [];
  if (previous?.provingMfa === true && !provingMfa) {
    drifts.push({ kind: "mfa_missing", since: previous.updatedAt });
  }
  if (fresh.length > 0) drifts.push({ kind: "unmapped_value", values: fresh });
  return {
    observation: {
      tenant: at.tenant,
      idp: at.idp,
      provingMfa,
      // Bounded, so that an IdP sending a new value on every answer cannot grow the row forever.
      unmappedSeen: [...seen, ...fresh].slice(-100),
      updatedAt: at.now,
    },
    drifts,
  };
}
