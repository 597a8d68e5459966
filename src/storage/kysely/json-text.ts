/** JSON documents are TEXT in both dialects: one encoding, byte-identical across stores. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value);
}

/** The store reads back only what it wrote: callers assert the type it was written with. */
export function fromJsonText(text: string): unknown {
  return JSON.parse(text);
}
