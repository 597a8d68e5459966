import { createHash } from "node:crypto";
import { UnreadableRecord, type DamagedRow } from "../../app/ports.js";

/** JSON documents are TEXT in both dialects: one encoding, byte-identical across stores. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * The JSON value of `text`, which the store wrote (callers assert the type it was written with).
 * Text that is not JSON, which the store never writes, throws `unreadable()`, naming the record,
 * rather than a bare SyntaxError that would pass for the store failing.
 */
export function fromCheckedJsonText(text: string, unreadable: () => Error): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw unreadable();
  }
}

/**
 * {@link fromCheckedJsonText} for text a hash or digest covers (an audit event's payload, a
 * receipt): only the text {@link toJsonText} writes, which parsing and writing again gives back
 * as it was. Other JSON (a member given twice, a number spelled otherwise, spaces) is read by
 * other readers otherwise than JSON.parse reads it, while the hash covers only what JSON.parse
 * kept: no record the store wrote, it throws `unreadable()` as text that is not JSON does.
 */
export function fromWrittenJsonText(text: string, unreadable: () => Error): unknown {
  const value = fromCheckedJsonText(text, unreadable);
  let written: string;
  try {
    written = toJsonText(value);
  } catch {
    // Nested deeper than the stack (JSON.parse reads any depth): nothing the store wrote.
    throw unreadable();
  }
  if (written !== text) throw unreadable();
  return value;
}

/**
 * {@link fromCheckedJsonText} for a column of `row`: text that is not JSON throws
 * {@link UnreadableRecord} naming the row (`store.record_damaged` through `transact`).
 */
export function fromRowJsonText(text: string, row: DamagedRow): unknown {
  return fromCheckedJsonText(text, () => new UnreadableRecord({ kind: "row", ...row }));
}

/**
 * How a damaged federation request is named: the SHA-256 (hex) of its id, since the id is the
 * sign-in's `state` or `RelayState`, which is never logged.
 */
export function federationRequestRow(id: string): DamagedRow {
  return { table: "federation_requests", id: createHash("sha256").update(id).digest("hex") };
}
