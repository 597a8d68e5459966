/** JSON documents are TEXT in both dialects: one encoding, byte-identical across stores. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value);
}

/** The store reads back only what it wrote: callers assert the type it was written with. */
export function fromJsonText(text: string): unknown {
  return JSON.parse(text);
}

/**
 * {@link fromJsonText} for a record that the audit checks: text that is not JSON, which the
 * store never writes, throws `unreadable()`, naming the record, rather than a bare SyntaxError
 * that would pass for the store failing.
 */
export function fromCheckedJsonText(text: string, unreadable: () => Error): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw unreadable();
  }
}
