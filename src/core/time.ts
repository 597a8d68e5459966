/**
 * ISO 8601 UTC-or-offset date-times, the only time format of the API and the audit log:
 * `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Anything else (a bare date, `Date.parse`'s lenient
 * forms such as `"1"`, a number, a Date object) is not a time here.
 */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

const DAY_MS = 86_400_000;

/** The digit at `at` of `text` as a number; outside 0–9 when the character is not a digit. */
const digitAt = (text: string, at: number): number => text.charCodeAt(at) - 48;

/** Whether `value` is 0–9: a negative one is huge once read as unsigned. */
const isDigit = (value: number): boolean => value >>> 0 <= 9;

/**
 * Reads text of the form every time the service writes, `YYYY-MM-DDTHH:MM:SS.sssZ`, whose shape
 * the caller has checked with {@link isCanonicalShape}, without a regular expression or a call
 * into `Date`: decisions parse several times each, so this path is hot, and its 17 digits are
 * read one by one, without a loop. `undefined` when a field is not a number or the date does
 * not exist.
 */
export function parseCanonicalTime(text: string): number | undefined {
  const y1 = digitAt(text, 0);
  const y2 = digitAt(text, 1);
  const y3 = digitAt(text, 2);
  const y4 = digitAt(text, 3);
  const mo1 = digitAt(text, 5);
  const mo2 = digitAt(text, 6);
  const d1 = digitAt(text, 8);
  const d2 = digitAt(text, 9);
  const h1 = digitAt(text, 11);
  const h2 = digitAt(text, 12);
  const mi1 = digitAt(text, 14);
  const mi2 = digitAt(text, 15);
  const s1 = digitAt(text, 17);
  const s2 = digitAt(text, 18);
  const ms1 = digitAt(text, 20);
  const ms2 = digitAt(text, 21);
  const ms3 = digitAt(text, 22);
  if (
    !isDigit(y1) ||
    !isDigit(y2) ||
    !isDigit(y3) ||
    !isDigit(y4) ||
    !isDigit(mo1) ||
    !isDigit(mo2) ||
    !isDigit(d1) ||
    !isDigit(d2) ||
    !isDigit(h1) ||
    !isDigit(h2) ||
    !isDigit(mi1) ||
    !isDigit(mi2) ||
    !isDigit(s1) ||
    !isDigit(s2) ||
    !isDigit(ms1) ||
    !isDigit(ms2) ||
    !isDigit(ms3)
  ) {
    return undefined;
  }
  const year = y1 * 1000 + y2 * 100 + y3 * 10 + y4;
  const month = mo1 * 10 + mo2;
  const day = d1 * 10 + d2;
  const hour = h1 * 10 + h2;
  const minute = mi1 * 10 + mi2;
  const second = s1 * 10 + s2;
  if (!isValidDateTime(year, month, day, hour, minute, second)) return undefined;
  return (
    daysFromCivil(year, month, day) * DAY_MS +
    hour * 3_600_000 +
    minute * 60_000 +
    second * 1000 +
    ms1 * 100 +
    ms2 * 10 +
    ms3
  );
}

/** Days before each month of a common year, by month number (1–12). */
const DAYS_BEFORE_MONTH = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/** Days from 0000-01-01 to 1970-01-01 in the proleptic Gregorian calendar. */
const EPOCH_DAY = 719_528;

/**
 * Days since 1970-01-01 of a proleptic Gregorian date of year 0–9999 (what the canonical shape
 * holds): whole years, the leap days before the year (year 0 is a leap year), the months before,
 * and the day. Unlike `Date.UTC`, it reads years 0–99 as themselves, not as 1900–1999, as
 * `Date.parse` does for ISO 8601.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const before = year - 1;
  const leapDaysBefore =
    year === 0
      ? 0
      : Math.floor(before / 4) - Math.floor(before / 100) + Math.floor(before / 400) + 1;
  const leapDayThisYear = month > 2 && isLeapYear(year) ? 1 : 0;
  return (
    year * 365 +
    leapDaysBefore +
    (DAYS_BEFORE_MONTH[month] ?? 0) +
    leapDayThisYear +
    day -
    1 -
    EPOCH_DAY
  );
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

const isLeapYear = (year: number): boolean =>
  year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
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
  // Kept apart from the arithmetic, so that this check is small enough for V8 to inline it.
  return ms === lastFormatted.ms ? lastFormatted.text : formatAnew(ms);
}

function formatAnew(ms: number): string {
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

/**
 * The one text the service writes for an ISO 8601 time it accepts: the same instant in UTC, as
 * `Date.prototype.toISOString` writes it, so that what is stored, answered and audited is UTC
 * whatever offset the caller sent. `undefined` when `value` is not a time, or when its UTC
 * instant falls outside years 0000–9999 (an offset can carry it there), whose text
 * {@link parseTime} would not read back.
 */
export function toCanonicalTime(value: unknown): string | undefined {
  const ms = parseTime(value);
  if (ms === undefined) return undefined;
  const text = formatTime(ms);
  return isCanonicalShape(text) ? text : undefined;
}
