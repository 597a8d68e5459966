// A date, optionally a time with seconds and fraction, and then a zone: a time without a zone
// would be read as local time.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Times are compared as TEXT, which orders correctly only when every value has the one shape
 * `toISOString()` produces; this brings any ISO 8601 time with a zone to it.
 */
export function toTimeText(value: string, field: string): string {
  const time = new Date(value);
  if (!ISO_8601.test(value) || Number.isNaN(time.getTime())) {
    throw new RangeError(`${field} is not an ISO 8601 time with a zone: ${JSON.stringify(value)}`);
  }
  return time.toISOString();
}

/**
 * For values that must be stored verbatim (an audit event's time is covered by its hash), refuses
 * rather than rewrites anything not already in `toISOString()` form.
 */
export function checkTimeText(value: string, field: string): string {
  if (toTimeText(value, field) !== value) {
    throw new RangeError(`${field} must be in toISOString() form: ${JSON.stringify(value)}`);
  }
  return value;
}
