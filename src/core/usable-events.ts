import type { Assurance } from "./assurance.js";
import type { AuthenticationEvent } from "./evidence.js";
import { reason, type Reason } from "./reasons.js";
import { singleAssurance } from "./satisfaction.js";
import { isCanonicalShape, parseCanonicalTime, parseTime } from "./time.js";

const INVALID = reason("evidence.ignored.invalid");
const FROM_FUTURE = reason("evidence.ignored.from_future");
const FOREIGN_TENANT = reason("evidence.ignored.foreign_tenant");
const NO_ASSURANCE = reason("evidence.ignored.no_assurance");

/**
 * The evidence events the engine will count: well formed, dated no later than `latest` (now plus
 * the allowed clock skew), from this tenant's IdP when federated, and proving something. Returns
 * what each proves on its own, in the order given; each rejected event leaves a note in `notes`.
 */
export function usableEvents(
  events: readonly AuthenticationEvent[],
  tenant: string,
  latest: number,
  notes: Reason[],
): Assurance[] {
  // `new Array()`, not `[]`: V8 makes it with room for four elements, where `[]` has none and
  // its first push goes through the array-growing builtin (about 180 instructions).
  const usable = new Array<Assurance>();
  for (let index = 0; index < events.length; index++) {
    const event = events[index] as AuthenticationEvent;
    const text: unknown = typeof event === "object" && event !== null ? event.at : undefined;
    // Times the service wrote itself have the canonical shape: check it once, and keep the text.
    const canonicalAt = typeof text === "string" && isCanonicalShape(text) ? text : undefined;
    const at = canonicalAt === undefined ? parseTime(text) : parseCanonicalTime(canonicalAt);
    if (at === undefined || !isWellFormed(event)) {
      notes.push(INVALID);
    } else if (at > latest) {
      notes.push(FROM_FUTURE);
    } else if (event.method === "federated" && event.tenant !== tenant) {
      notes.push(FOREIGN_TENANT);
    } else if (event.method === "federated" && event.assurance.aal === 0) {
      notes.push(NO_ASSURANCE);
    } else {
      usable.push(singleAssurance(event, at, canonicalAt));
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
