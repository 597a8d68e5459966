/**
 * Where a JSON text gives an object the same member twice. JSON.parse keeps the last of them
 * silently (RFC 8259 §4 leaves the choice to each reader), so a document whose hash or signature
 * was checked as JSON.parse read it can tell another reader, one that keeps the first, something
 * else: text that must mean one thing to every reader is refused when it does this.
 *
 * @module
 */

/** A member given twice: its name (as decoded) and the path to the object that holds it. */
export interface DoubledMember {
  readonly name: string;
  /** Member names and array indexes from the document's root to the object. */
  readonly path: readonly (string | number)[];
}

type Open =
  | { readonly kind: "object"; readonly names: Set<string>; name?: string; nameNext: boolean }
  | { readonly kind: "array"; index: number };

/**
 * The first member that `text`, which JSON.parse read without error, gives twice in one object,
 * or undefined. Names count as decoded: `"outcome"` and `"outc\u006fme"` are one member. One
 * pass over the text, without recursion, so any depth JSON.parse read is read here too.
 */
export function findDoubledMember(text: string): DoubledMember | undefined {
  const open: Open[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const top = open.at(-1);
      if (top?.kind === "object" && top.nameNext) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.names.has(name)) return { name, path: pathTo(open) };
        top.names.add(name);
        top.name = name;
        top.nameNext = false;
      }
      i = end;
    } else if (char === "{") open.push({ kind: "object", names: new Set(), nameNext: true });
    else if (char === "[") open.push({ kind: "array", index: 0 });
    else if (char === "}" || char === "]") open.pop();
    else if (char === ",") {
      const top = open.at(-1);
      if (top?.kind === "object") top.nameNext = true;
      else if (top !== undefined) top.index++;
    }
  }
  return undefined;
}

/** The path to the innermost open object: each enclosing one's current member or index. */
function pathTo(open: readonly Open[]): (string | number)[] {
  return open
    .slice(0, -1)
    .map((container) => (container.kind === "array" ? container.index : (container.name ?? "")));
}
