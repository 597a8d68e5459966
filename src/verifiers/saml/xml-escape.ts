const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/**
 * Escapes a value for XML text or a double-quoted attribute. Tabs and line breaks become
 * character references so attribute-value normalisation cannot change them. Characters XML 1.0
 * cannot carry at all are refused: they mean a caller bug, not something to encode.
 */
export function escapeXml(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(value)) {
    throw new TypeError("value holds characters XML cannot carry");
  }
  return value.replace(/[&<>"'\t\n\r]/g, (c) => ESCAPES[c] ?? c);
}
