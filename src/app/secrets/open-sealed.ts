import { AppError } from "../errors.js";
import type { SecretSealer } from "../ports.js";

/**
 * Opens a sealed secret, or refuses with `secret.unavailable`: the key that sealed it is no longer
 * configured (a rotation dropped it before `tenant-mfa secrets reseal` ran), or the stored value
 * was altered. Either way an operator must act, and the caller must not mistake it for a store
 * outage or a wrong code.
 */
export function openSealed(secrets: SecretSealer, sealed: string, where: string): string {
  try {
    return secrets.open(sealed, where);
  } catch {
    throw new AppError("secret.unavailable");
  }
}
