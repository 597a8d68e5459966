import type { FastifyReply, FastifyRequest } from "fastify";
import { settingsEtag, type SettingsPrecondition } from "../../app/settings-precondition.js";
import { InvalidRequest } from "../problem.js";

/** The `If-Match` of a route that replaces a tenant's settings, as the OpenAPI document shows it. */
export const SETTINGS_IF_MATCH = {
  name: "if-match",
  description:
    'Optional: the `ETag` of the settings being replaced, e.g. `"Yx3…"`, or `*`; settings changed since are kept (412).',
};

/** The `ETag` of a tenant's settings, as the OpenAPI document shows it. */
export const SETTINGS_ETAG = {
  name: "etag",
  description: "A strong entity tag of the settings as stored: send it back as `If-Match`.",
};

// RFC 9110 §13.1.1: `If-Match = "*" / #entity-tag`; a list may hold empty elements (§5.6.1). The
// tags answered here are strong: a weak one (`W/"…"`), which strong comparison never matches,
// is refused as malformed, as a version `If-Match` is elsewhere in the API.
const OPAQUE_TAG = /"[\x21\x23-\x7e]*"/g;
const TAG_LIST = /^[ \t]*(?:"[\x21\x23-\x7e]*"[ \t]*)?(?:,[ \t]*(?:"[\x21\x23-\x7e]*"[ \t]*)?)*$/;

/** Reads an `If-Match` on a tenant's settings: `*` or its entity tags; absent gives `undefined`. */
export function parseSettingsIfMatch(
  header: string | string[] | undefined,
): SettingsPrecondition | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(",") : header;
  if (value.trim() === "*") return "*";
  const tags = TAG_LIST.test(value) ? (value.match(OPAQUE_TAG) ?? []) : [];
  if (tags.length === 0) {
    throw new InvalidRequest([
      {
        pointer: "#/headers/if-match",
        detail: "expected `*` or the settings' ETag, as answered (a quoted strong tag)",
      },
    ]);
  }
  return tags;
}

/** Answers `settings` with their `ETag`. */
export function withSettingsEtag<T>(reply: FastifyReply, settings: T): T {
  reply.header("etag", settingsEtag(settings));
  return settings;
}

/**
 * Replaces a tenant's settings under the request's `If-Match` (checked by `write`, in its
 * transaction); answers them as stored, with their `ETag`.
 */
export async function writeSettings<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  write: (ifMatch: SettingsPrecondition | undefined) => Promise<T>,
): Promise<T> {
  return withSettingsEtag(reply, await write(parseSettingsIfMatch(request.headers["if-match"])));
}
