import type { StoreChange } from "../../app/ports.js";

const KINDS: ReadonlySet<string> = new Set<StoreChange["kind"]>([
  "tenant",
  "policy",
  "mandate",
  "exemption",
  "principal",
  "api_key",
  "idp",
  "webauthn_settings",
]);

/** A change as it travels by NOTIFY: with the instance that made it, which heard it already. */
export interface ChangeNotification {
  readonly change: StoreChange;
  readonly origin?: string;
}

/** The payload that announces `change`, made by the store instance `origin`. */
export const notificationPayload = (change: StoreChange, origin: string): string =>
  JSON.stringify({ ...change, origin });

/**
 * Reads a notification payload. Anyone who can connect may NOTIFY on the channel, so a payload
 * that is not a change is dropped rather than handed to listeners.
 */
export function parseStoreChange(payload: string): ChangeNotification | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { kind, tenant, origin } = value as Record<string, unknown>;
  if (typeof kind !== "string" || !KINDS.has(kind)) return undefined;
  if (origin !== undefined && typeof origin !== "string") return undefined;
  const from = origin === undefined ? {} : { origin };
  const change = { kind: kind as StoreChange["kind"] };
  if (tenant === undefined) return { change, ...from };
  return typeof tenant === "string" ? { change: { ...change, tenant }, ...from } : undefined;
}
