/** One changed leaf between two JSON documents, addressed by a JSON Pointer (RFC 6901). */
export interface DocumentChange {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const escape = (key: string): string => key.replace(/~/g, "~0").replace(/\//g, "~1");

/** The leaves that differ between two JSON documents; arrays compare as whole values. */
export function diffDocuments(before: unknown, after: unknown, path = ""): DocumentChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffDocuments(before[key], after[key], `${path}/${escape(key)}`));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [
    {
      path: path === "" ? "/" : path,
      ...(before === undefined ? {} : { before }),
      ...(after === undefined ? {} : { after }),
    },
  ];
}
