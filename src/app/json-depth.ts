/**
 * The deepest nesting a JSON request body may have, and so about the deepest of any document the
 * service keeps (an audit event wraps a body in a few levels of its own). The API's deepest documents (a policy's
 * risk rules, a WebAuthn response) nest fewer than ten levels; a body nested thousands of levels
 * deep parses in a few kilobytes and then overflows the stack of whatever walks it recursively
 * (`JSON.stringify` when its receipt is stored, say).
 */
export const MAX_JSON_DEPTH = 32;

/** True when `value` nests objects or arrays more than `max` levels deep. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (max === 0) return true;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    if (nestsDeeperThan(child, max - 1)) return true;
  }
  return false;
}
