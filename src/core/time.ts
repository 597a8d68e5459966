/**
 * ISO 8601 UTC-or-offset date-times, the only time format of the API and the audit log:
 * `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Anything else (a bare date, `Date.parse`'s lenient
 * forms such as `"1"`, a number, a Date object) is not a time here.
 */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an ISO 8601 date-time, or `undefined` when it is not one. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== "string" || !ISO_DATE_TIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The ISO 8601 UTC form of an instant. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}
