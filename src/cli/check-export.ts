import { calculateJwkThumbprint, type JWK } from "jose";
import { constants } from "node:buffer";
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { openKeptCheckpoint } from "../app/audit/audit-checkpoints.js";
import {
  exportedChainChecker,
  type ExportedChainCheck,
  type UncheckedReason,
} from "../app/audit/check-exported-chain.js";
import { AppError, ERROR_CODES } from "../app/errors.js";
import { findDoubledMember } from "../app/doubled-member.js";
import { nestsDeeperThan } from "../app/json-depth.js";
import type { ReceiptRecord } from "../app/records.js";
import { createJoseTokenSigner } from "../tokens/jose-token-signer.js";

/** What `tenant-mfa audit check-export` is given: files only, no store. */
export interface ExportFiles {
  /** The JSON Lines export; `-` reads standard input. */
  readonly exportFile: string;
  /** What `audit checkpoint` printed: the checkpoint and the public key kept beside it. */
  readonly checkpointFile?: string;
  /** Receipts as `GET /v1/decisions/:id` serves them, one per line or a JSON array. */
  readonly receiptsFile?: string;
}

/**
 * The longest line of an export that can hold an event, in bytes: four times the largest request
 * body the service takes (16 MiB), every event being made from one request. A longer line is no
 * event, and reading it whole would only fill memory: `/dev/zero` is one endless line.
 */
const LONGEST_LINE = 64 * 1024 * 1024;
/**
 * The deepest nesting of a receipt read: far past any the service keeps (a request body nests at
 * most 32 levels, an IdP's claims a few), and far short of what overflows the stack of the
 * digest's `JSON.stringify`.
 */
const DEEPEST_RECEIPT = 1000;
/** The longest checkpoint file: what `audit checkpoint` prints is under two kilobytes. */
const LONGEST_CHECKPOINT_FILE = 1024 * 1024;

/** A file the check cannot use (exit code 2), said so. */
export class UnusableFile extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnusableFile";
  }
}

/**
 * Checks an exported chain from the files an auditor holds (`exportedChainChecker`), reading
 * the export as a stream. A checkpoint is verified with the key kept beside it, never with keys
 * a store holds: there is none here, and the operator's would prove nothing.
 */
export async function checkExportFiles(
  files: ExportFiles,
  stdin: NodeJS.ReadableStream | undefined,
): Promise<ExportedChainCheck> {
  const checkpoint =
    files.checkpointFile === undefined ? undefined : await readKeptCheckpoint(files.checkpointFile);
  const receipts = files.receiptsFile === undefined ? undefined : readReceipts(files.receiptsFile);
  const checker = exportedChainChecker({
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(receipts === undefined ? {} : { receipts }),
  });
  const input = files.exportFile === "-" ? stdin : createReadStream(files.exportFile);
  if (input === undefined) throw new UnusableFile("no standard input to read the export from");
  try {
    for await (const line of linesOf(input)) {
      if (line === TOO_LONG) {
        // The check breaks there: what follows is left unread.
        checker.addOverlong();
        break;
      }
      checker.add(line);
    }
  } catch (error) {
    throw new UnusableFile(`cannot read the export ${files.exportFile}: ${reasonOf(error)}`, {
      cause: error,
    });
  }
  const result = checker.result();
  if (result.broken?.problem === "api_page" && result.first === undefined) {
    throw new UnusableFile(
      `${files.exportFile} holds a page of the audit API, not an export: export the chain with ?format=jsonl (or Accept: application/x-ndjson) and check that`,
    );
  }
  return result;
}

/** A line longer than {@link LONGEST_LINE}, left unread. */
const TOO_LONG = Symbol("too long");

/**
 * The lines of `input` (split at LF; a CR before it is white space to JSON), each as UTF-8 text;
 * one longer than {@link LONGEST_LINE} as {@link TOO_LONG}, and no more after it.
 */
async function* linesOf(input: AsyncIterable<unknown>): AsyncGenerator<string | typeof TOO_LONG> {
  let pending: Buffer[] = [];
  let length = 0;
  let first = true;
  const text = () => {
    const line = Buffer.concat(pending, length).toString("utf8");
    if (!first) return line;
    first = false;
    return withoutByteOrderMark(line);
  };
  for await (const chunk of input) {
    let bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    for (let end = bytes.indexOf(0x0a); end !== -1; end = bytes.indexOf(0x0a)) {
      pending.push(bytes.subarray(0, end));
      length += end;
      if (length > LONGEST_LINE) break;
      yield text();
      [pending, length, bytes] = [[], 0, bytes.subarray(end + 1)];
    }
    if (length <= LONGEST_LINE) {
      pending.push(bytes);
      length += bytes.length;
    }
    if (length > LONGEST_LINE) {
      yield TOO_LONG;
      return;
    }
  }
  if (length > 0) yield text();
}

/**
 * `text` without the byte order mark some editors and shells begin a UTF-8 file with: no part
 * of its content (RFC 8259 §8.1 lets a parser ignore it), it is taken for none.
 */
function withoutByteOrderMark(text: string): string {
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
}

/** The lines that tell the operator what the check found, the verdict last. */
export function describeExportCheck(result: ExportedChainCheck): string[] {
  const lines: string[] = [];
  const { chain = "(none)", first, last, events, broken, cutShort, checkpoint, receipts } = result;
  if (first !== undefined && first > 1) {
    lines.push(
      `NOTE: the export starts at event ${String(first)}: the link before it is not in the file`,
    );
  }
  if (checkpoint !== undefined && !checkpoint.confirmed && broken === undefined) {
    // Unbroken and unconfirmed: of another chain, before the export's first event, or past the
    // problem line that cut the export short.
    lines.push(
      checkpoint.chain !== chain
        ? `NOT CONFIRMED: the checkpoint is of ${checkpoint.chain}, the export of ${chain}`
        : first !== undefined && checkpoint.seq < first
          ? `NOT CONFIRMED: the checkpoint's event ${String(checkpoint.seq)} is before the export's first`
          : `NOT CONFIRMED: the checkpoint's event ${String(checkpoint.seq)} is past where the export was cut short`,
    );
  }
  for (const id of receipts?.unrecorded ?? []) {
    lines.push(`UNRECORDED: receipt ${id}: no event of the chain records it`);
  }
  for (const { id, reason } of receipts?.unchecked ?? []) {
    lines.push(`UNCHECKED: receipt ${id}: ${uncheckedBecause(reason, result)}`);
  }
  const range = first === undefined ? "no event" : `events ${String(first)}–${String(last)}`;
  const against =
    checkpoint?.confirmed === true
      ? `, matching the checkpoint at event ${String(checkpoint.seq)} (issued by ${checkpoint.issuer}, signed by key ${checkpoint.key.kid}, thumbprint ${checkpoint.key.thumbprint})`
      : "";
  const unbound =
    (receipts?.unbound ?? 0) > 0
      ? `, ${String(receipts?.unbound)} of them by tenant and outcome only (recorded before receipts were bound, their events keep no digest)`
      : "";
  const checked =
    receipts === undefined
      ? ""
      : `; ${String(receipts.checked)} receipt(s) match their events${unbound}`;
  if (broken !== undefined) {
    lines.push(
      `BROKEN: chain ${chain}, event ${String(broken.seq)} (line ${String(broken.line)}): ${broken.problem}`,
    );
    lines.push(`(${String(events)} event(s) verified before the first broken link)`);
    if (broken.problem === "not_an_event" && first === undefined) {
      lines.push(
        "NOTE: an export holds one event per line, as GET …/audit?format=jsonl writes it: a file whose first line is no event may have been reformatted",
      );
    }
  } else if (cutShort !== undefined) {
    const code = typeof cutShort["code"] === "string" ? cutShort["code"] : "unknown";
    lines.push(
      `CUT SHORT: the export ended after event ${String(last ?? 0)} with a problem (${code}): export the rest from after=${String(last ?? 0)}, append it to this file and check again`,
    );
  } else if (result.ok) {
    lines.push(`ok: chain ${chain}, ${range} (${String(events)}) verified${against}${checked}`);
  } else if (first === undefined) {
    lines.push("NOT VERIFIED: the export holds no event");
  } else if ((receipts?.unrecorded.length ?? 0) > 0) {
    lines.push(`NOT INTACT: chain ${chain}, ${range} verified${against}${checked}`);
  } else {
    const undone = [
      ...(checkpoint !== undefined && !checkpoint.confirmed
        ? ["the checkpoint is not confirmed"]
        : []),
      ...((receipts?.unchecked.length ?? 0) > 0
        ? [`${String(receipts?.unchecked.length)} receipt(s) given are not checked`]
        : []),
    ];
    lines.push(
      `NOT VERIFIED: chain ${chain}, ${range} link up${against}${checked}, but ${undone.join(" and ")}`,
    );
  }
  return lines;
}

/** Why no event of the export checked a receipt given, and what to do. */
function uncheckedBecause(reason: UncheckedReason, { chain, first }: ExportedChainCheck): string {
  switch (reason) {
    case "other_tenant":
      return `of another tenant than chain ${chain ?? "(none)"}'s, whose events record none of it`;
    case "after_last_event":
      return "made after the export's last event: export again to check it";
    case "export_from_after":
      return `the export starts at event ${String(first)}: export the chain from its start to check it`;
  }
}

/**
 * The kid and RFC 7638 thumbprint of a public key kept beside a checkpoint, which verified it:
 * what the auditor compares with the service key they pinned (a checkpoint file can carry any
 * key, the operator's own too).
 */
export async function identifyKeptKey(key: unknown): Promise<{ kid: string; thumbprint: string }> {
  const { kid } = key as { kid: string };
  return { kid, thumbprint: await calculateJwkThumbprint(key as JWK) };
}

/** The checkpoint in `file`, verified with the key kept in it, and that key. */
async function readKeptCheckpoint(file: string) {
  const kept = parseJson(
    readText(file, "checkpoint", LONGEST_CHECKPOINT_FILE),
    `the checkpoint file ${file}`,
  );
  const { checkpoint, key } = (kept ?? {}) as { checkpoint?: unknown; key?: unknown };
  if (typeof checkpoint !== "string" || key === undefined) {
    throw new UnusableFile(
      `${file} holds no checkpoint with its key: give the file \`tenant-mfa audit checkpoint\` printed`,
    );
  }
  try {
    const claims = await openKeptCheckpoint(createJoseTokenSigner(), checkpoint, key);
    // Verified: the key is a public signing key (openKeptCheckpoint refuses any other).
    return { ...claims, key: await identifyKeptKey(key) };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    // The code's own message speaks to a client of the service; the auditor holds the key.
    const why =
      error.message === ERROR_CODES["audit.checkpoint_invalid"]
        ? " with the key kept beside it: it was altered, or signed with another key"
        : `: ${error.message}`;
    throw new UnusableFile(`the checkpoint in ${file} does not verify${why}`, { cause: error });
  }
}

/** The receipts in `file`, as given. */
function readReceipts(file: string): ReceiptRecord[] {
  // As much as one string holds, which is all the receipts could ever be read as.
  const text = readText(file, "receipts", constants.MAX_STRING_LENGTH);
  const list: unknown[] = text.trimStart().startsWith("[")
    ? (parseJson(text, `the receipts file ${file}`, "receipt") as unknown[])
    : text
        .split("\n")
        // Numbered before the blank lines go: the number names the line in the file.
        .map((line, i) => ({ line, at: i + 1 }))
        .filter(({ line }) => line.trim() !== "")
        .map(({ line, at }) => parseJson(line, `line ${String(at)} of the receipts file ${file}`));
  return list.map((receipt, i) => {
    if (!isReceipt(receipt)) {
      throw new UnusableFile(
        `receipt ${String(i + 1)} of ${file} is not a receipt as GET /v1/decisions/:id serves one`,
      );
    }
    // JSON.parse reads any depth; the digest's JSON.stringify walks it and overflows the stack.
    if (nestsDeeperThan(receipt, DEEPEST_RECEIPT)) {
      throw new UnusableFile(
        `receipt ${String(i + 1)} of ${file} nests deeper than any receipt (over ${String(DEEPEST_RECEIPT)} levels)`,
      );
    }
    return receipt;
  });
}

function isReceipt(value: unknown): value is ReceiptRecord {
  if (typeof value !== "object" || value === null) return false;
  const { id, tenant, principal, outcome, createdAt, decision, inputSummary } = value as Record<
    string,
    unknown
  >;
  return (
    typeof id === "string" &&
    typeof tenant === "string" &&
    typeof principal === "string" &&
    typeof outcome === "string" &&
    typeof createdAt === "string" &&
    typeof decision === "object" &&
    decision !== null &&
    typeof inputSummary === "object" &&
    inputSummary !== null
  );
}

/**
 * The text of `file`, when it holds at most `longest` bytes: a longer one is refused, never read
 * on (`/dev/zero` has no end, and a device or a pipe no size to refuse it by beforehand).
 */
function readText(file: string, what: string, longest: number): string {
  const tooLong = () =>
    new UnusableFile(
      `the ${what} file ${file} is longer than any ${what} file (over ${String(longest)} bytes)`,
    );
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const stats = fstatSync(fd);
    if (stats.isFile()) {
      if (stats.size > longest) throw tooLong();
      return withoutByteOrderMark(readFileSync(fd, "utf8"));
    }
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, longest + 1 - length));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) return withoutByteOrderMark(Buffer.concat(chunks, length).toString("utf8"));
      chunks.push(chunk.subarray(0, read));
      length += read;
      if (length > longest) throw tooLong();
    }
  } catch (error) {
    if (error instanceof UnusableFile) throw error;
    throw new UnusableFile(`cannot read the ${what} file ${file}: ${reasonOf(error)}`, {
      cause: error,
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The JSON value of `text`, which `what` names. JSON that gives a member twice is refused: what
 * the check reads (the last, as JSON.parse keeps it) need not be what another reader of the same
 * file takes (the first), and a receipt with two outcomes would pass for either. `part` names the
 * elements of a top-level array (`receipt`), to say which of them does so.
 */
function parseJson(text: string, what: string, part?: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UnusableFile(`${what} is not JSON`);
  }
  const doubled = findDoubledMember(text);
  if (doubled !== undefined) {
    const [first, ...rest] = doubled.path;
    const inPart = part !== undefined && typeof first === "number";
    const whose = inPart ? `${part} ${String(first + 1)} of ${what}` : what;
    const path = inPart ? rest : doubled.path;
    const where = path.length === 0 ? "" : ` (in ${describePath(path)})`;
    throw new UnusableFile(
      `${whose} gives the member ${JSON.stringify(doubled.name)} twice${where}: readers differ on which one counts, so it is checked as neither`,
    );
  }
  return value;
}

/** A path into a JSON value as `decision.reasons[0]`, a name of other characters quoted. */
function describePath(path: readonly (string | number)[]): string {
  return path
    .map((step, i) =>
      typeof step === "number"
        ? `[${String(step)}]`
        : /^[A-Za-z_]\w*$/.test(step)
          ? `${i === 0 ? "" : "."}${step}`
          : `[${JSON.stringify(step)}]`,
    )
    .join("");
}

function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : "");
}
