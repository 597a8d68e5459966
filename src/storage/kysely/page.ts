import { sql, type RawBuilder } from "kysely";
import { AppError } from "../../app/errors.js";
import type { Page } from "../../app/ports.js";

/** Opaque to callers: the last key of a page, base64url so that no one builds one by hand. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, "utf8").toString("base64url");
}

/**
 * The key a cursor of {@link encodeCursor} holds. Anything else is refused rather than read as
 * some key: Node's decoder skips characters outside the alphabet and replaces broken UTF-8, so a
 * cursor is accepted only when it is exactly what encoding its key gives back. No key holds
 * U+0000 (the API refuses it, and PostgreSQL text cannot hold it): a cursor of one is refused too.
 */
export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, "base64url").toString("utf8");
  if (key.length === 0 || key.includes("\0") || encodeCursor(key) !== cursor) {
    throw new AppError("request.invalid", "after is not a cursor this service gave out.");
  }
  return key;
}

/** Rejects a limit that would make a page empty or unbounded: a caller bug, not user input. */
export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`Page limit must be a positive integer, got ${String(limit)}`);
  }
  return limit;
}

/**
 * A LIMIT written into the SQL as a number rather than bound as a parameter. SQLite lets the
 * value of a bound LIMIT steer the query plan, so binding one marks the prepared statement
 * expired and every run compiles it again (about 9 µs each here, more than the lookup itself);
 * a literal limit runs as prepared. The value is checked to be a positive integer, so writing it
 * into the SQL can never inject anything.
 */
export function literalLimit(limit: number): RawBuilder<number> {
  return sql.lit(checkLimit(limit));
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
