import { createHash } from "node:crypto";
import { canonicalJson } from "./audit/audit-chain.js";
import { AppError } from "./errors.js";

/**
 * What an `If-Match` asks of a tenant's settings before they are replaced: that some are in
 * force (`*`), or that those in force have one of these entity tags (quoted, as sent).
 */
export type SettingsPrecondition = "*" | readonly string[];

/**
 * The strong entity tag of settings as read: the SHA-256 of their canonical JSON, quoted. A
 * digest rather than a counter, as these settings keep no version: every instance reading the
 * same row computes the same tag, and any change to what is answered (its `updatedAt` included)
 * makes a new one.
 */
export function settingsEtag(settings: unknown): string {
  return `"${createHash("sha256").update(canonicalJson(settings)).digest("base64url")}"`;
}

/**
 * Throws `code` (412) unless `precondition` holds for `current`, the settings in force as read
 * in the transaction that replaces them (none: undefined); no precondition always holds. The
 * problem names the current tag, for the client to read again.
 */
export function checkSettingsPrecondition(
  code: "webauthn.settings_conflict" | "tenant.settings_conflict",
  precondition: SettingsPrecondition | undefined,
  current: unknown,
): void {
  if (precondition === undefined) return;
  if (current === undefined) throw new AppError(code);
  const etag = settingsEtag(current);
  if (precondition !== "*" && !precondition.includes(etag)) {
    throw new AppError(code, undefined, { currentEtag: etag });
  }
}
