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

/**
 * Reads a notification payload. Anyone who can connect may NOTIFY on the channel, so a payload
 * that is not a change is dropped rather than handed to listeners.
 */
export function parseStoreChange(payload: string): StoreChange | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { kind, tenant } = value as Record<string, unknown>;
  if (typeof kind !== "string" || !KINDS.has(kind)) return undefined;
  const change = { kind: kind as StoreChange["kind"] };
  if (tenant === undefined) return change;
  return typeof tenant === "string" ? { ...change, tenant } : undefined;
}
