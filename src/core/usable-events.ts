import type { AuthenticationEvent } from "./evidence.js";
import { reason, type Reason } from "./reasons.js";
import type { UsableEvent } from "./satisfaction.js";
import { isCanonicalShape, parseTime } from "./time.js";

/**
 * The evidence events the engine will count: well formed, dated no later than `latest` (now plus
 * the allowed clock skew), from this tenant's IdP when federated, and proving something. Each
 * rejected event leaves a note in `notes`.
 */
export function usableEvents(
  events: readonly AuthenticationEvent[],
  tenant: string,
  latest: number,
  notes: Reason[],
): UsableEvent[] {
  const usable: UsableEvent[] = [];
  for (const event of events) {
    const text: unknown = typeof event === "object" && event !== null ? event.at : undefined;
    const at = parseTime(text);
    if (at === undefined || !isWellFormed(event)) {
      notes.push(reason("evidence.ignored.invalid"));
    } else if (at > latest) {
      notes.push(reason("evidence.ignored.from_future"));
    } else if (event.method === "federated" && event.tenant !== tenant) {
      notes.push(reason("evidence.ignored.foreign_tenant"));
    } else if (event.method === "federated" && event.assurance.aal === 0) {
      notes.push(reason("evidence.ignored.no_assurance"));
    } else {
      // parseTime read it, so a canonical text is what formatTime would write: keep it.
      const canonicalAt = isCanonicalShape(text as string) ? (text as string) : undefined;
      usable.push({ event, at, canonicalAt });
    }
  }
  return usable;
}

function isWellFormed(event: AuthenticationEvent): boolean {
  switch (event.method) {
    case "password":
    case "totp":
    case "recovery_code":
      return event.source === "platform";
    case "webauthn":
      return (
        event.source === "platform" &&
        typeof event.userVerified === "boolean" &&
        typeof event.backupEligible === "boolean"
      );
    case "federated": {
      const assurance = event.assurance as unknown;
      if (
        event.source !== "idp" ||
        typeof event.tenant !== "string" ||
        typeof event.idp !== "string"
      ) {
        return false;
      }
      if (typeof assurance !== "object" || assurance === null) return false;
      const { aal, phishingResistant } = assurance as Record<string, unknown>;
      return (
        (aal === 0 || aal === 1 || aal === 2 || aal === 3) && typeof phishingResistant === "boolean"
      );
    }
    default:
      return false;
  }
}
