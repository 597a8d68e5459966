/**
 * `response`'s body, read to its end while it stays within `maxBytes`; `undefined` as soon as it
 * is seen to be larger (declared in `Content-Length`, or read so far), the rest left unread and
 * the stream cancelled. `fetch` reads a body whole, for as long as its timeout lasts: a URL
 * answering without end (a misrouted base URL, a proxy's page, a compromised host) would fill the
 * platform's memory. A body that a read fails in the middle of (a timeout) throws.
 */
export async function readBodyUpTo(
  response: Response,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (response.body === null) return new Uint8Array(0);
  if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
    await response.body.cancel();
    return undefined;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
