import {
  principalKey,
  VERIFICATION_THROTTLE_DEFAULTS,
} from "../authenticators/verification-throttle.js";
import type { Clock, Store } from "../ports.js";

/**
 * Set-up only: `principal` proved MFA just now, as its own session would before binding another
 * method (a principal that holds one needs a fresh MFA for that). The success is dated as early
 * as a fresh MFA may be, so that it is stale the moment the clock moves on: the tests of the
 * fresh-MFA rules still start from none.
 */
export async function provedMfaJustNow(
  h: { readonly clock: Clock; readonly store: Store },
  tenant: string,
  principal: string,
): Promise<void> {
  const at = h.clock.now().getTime() - VERIFICATION_THROTTLE_DEFAULTS.freshMfaSeconds * 1000;
  await h.store.transaction((r) =>
    r.verificationThrottles.recordSuccess(
      tenant,
      principalKey(principal),
      new Date(at).toISOString(),
    ),
  );
}
