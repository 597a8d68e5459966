import type { Page } from "../../app/ports.js";

/** Opaque to callers: the last key of a page, base64url so that no one builds one by hand. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, "base64url").toString("utf8");
}

/** Rejects a limit that would make a page empty or unbounded: a caller bug, not user input. */
export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`Page limit must be a positive integer, got ${String(limit)}`);
  }
  return limit;
}

/**
 * Cuts rows fetched with `limit + 1` into a page: the extra row only proves that more exist, so
 * `next` points after the last row returned.
 */
export function toPage<T>(
  rows: readonly T[],
  limit: number,
  cursorOf: (item: T) => string,
): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return last === undefined ? { items } : { items, next: cursorOf(last) };
}
