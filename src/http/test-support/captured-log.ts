import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { LOG_REDACTION } from "../build-server.js";

/**
 * A logger at `trace` with the server's own redaction, keeping each line it writes in `lines`:
 * what the server would log in production, where a test can look for what must never be there.
 */
export function capturedLog(): { readonly logger: Logger; readonly lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: pino({ level: "trace", redact: LOG_REDACTION }, sink), lines };
}
