import type { IncomingMessage } from "node:http";

/** Far more than any demo form posts; a larger body is not read on. */
const MAX_FORM_BYTES = 8 * 1024;

/**
 * Reads a posted URL-encoded form, as both demo servers take them. A body over
 * {@link MAX_FORM_BYTES} reads as an empty form, which both refuse (no user name, no CSRF token).
 */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return new URLSearchParams();
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}
