/**
 * ISO 8601 UTC-or-offset date-times, the only time format of the API and the audit log:
 * `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Anything else (a bare date, `Date.parse`'s lenient
 * forms such as `"1"`, a number, a Date object) is not a time here.
 */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

const DAY_MS = 86_400_000;

/** The decimal number in `text` at `start`, `length` digits long, or -1 for a non-digit. */
function numberAt(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Reads text of the form every time the service writes, `YYYY-MM-DDTHH:MM:SS.sssZ`, whose shape
 * the caller has checked with {@link isCanonicalShape}, without a regular expression or a call
 * into `Date`: decisions parse several times each, so this path is hot. `undefined` when a field
 * is not a number or the date does not exist.
 */
export function parseCanonicalTime(text: string): number | undefined {
  const year = numberAt(text, 0, 4);
  const month = numberAt(text, 5, 2);
  const day = numberAt(text, 8, 2);
  const hour = numberAt(text, 11, 2);
  const minute = numberAt(text, 14, 2);
  const second = numberAt(text, 17, 2);
  const ms = numberAt(text, 20, 3);
  if (ms < 0 || !isValidDateTime(year, month, day, hour, minute, second)) return undefined;
  return (
    daysFromCivil(year, month, day) * DAY_MS +
    hour * 3_600_000 +
    minute * 60_000 +
    second * 1000 +
    ms
  );
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date, by H. Hinnant's `days_from_civil` (the
 * inverse of the `civil_from_days` in {@link formatTime}). Unlike `Date.UTC`, it reads years
 * 0–99 as themselves, not as 1900–1999, as `Date.parse` does for ISO 8601.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Whether the fields name a real instant: no 31 February, no hour 24, no leap second. */
function isValidDateTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): boolean {
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return false;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  return day <= daysInMonth(year, month);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/**
 * True for the exact shape `Date.prototype.toISOString` writes. A text of this shape that
 * {@link parseTime} reads is one {@link formatTime} writes back unchanged.
 */
export const isCanonicalShape = (text: string): boolean =>
  text.length === 24 &&
  text.charCodeAt(4) === DASH &&
  text.charCodeAt(7) === DASH &&
  text.charCodeAt(10) === LETTER_T &&
  text.charCodeAt(13) === COLON &&
  text.charCodeAt(16) === COLON &&
  text.charCodeAt(19) === DOT &&
  text.charCodeAt(23) === LETTER_Z;

const DASH = 0x2d;
const DOT = 0x2e;
const COLON = 0x3a;
const LETTER_T = 0x54;
const LETTER_Z = 0x5a;

/** Milliseconds since the epoch of an ISO 8601 date-time, or `undefined` when it is not one. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  if (isCanonicalShape(value)) return parseCanonicalTime(value);
  const match = ISO_DATE_TIME.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  if (
    !isValidDateTime(year ?? -1, month ?? -1, day ?? -1, hour ?? -1, minute ?? -1, second ?? -1)
  ) {
    return undefined;
  }
  if ((offsetHours ?? 0) > 23 || (offsetMinutes ?? 0) > 59) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, n) =>
  n < 10 ? `0${n}` : `${n}`,
);
const pad2 = (n: number): string => TWO_DIGITS[n] ?? `${n}`;
const pad3 = (n: number): string => (n < 100 ? `0${pad2(n)}` : `${n}`);

/**
 * The instant {@link formatTime} wrote last, and its text. Every decision writes its own instant,
 * and a busy caller decides many times within one millisecond: those share one text.
 */
let lastFormatted = { ms: Number.NaN, text: "" };

/**
 * The ISO 8601 UTC form of an instant, as `Date.prototype.toISOString` writes it, by integer
 * arithmetic (every decision writes at least one, so this path is hot). The calendar date comes
 * from the day number with H. Hinnant's `civil_from_days`.
 */
export function formatTime(ms: number): string {
  if (ms === lastFormatted.ms) return lastFormatted.text;
  if (!Number.isFinite(ms) || ms < 0 || ms >= 253_402_300_800_000)
    return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const milli = rest - second * 1000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const text = `${year}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}.${pad3(milli)}Z`;
  lastFormatted = { ms, text };
  return text;
}
