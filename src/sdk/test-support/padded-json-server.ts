import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A loopback server answering one JSON document, padded beyond the size it would have. */
export interface PaddedJsonServer {
  /** `http://127.0.0.1:PORT`: the server answers every path alike. */
  readonly baseUrl: string;
  /** The bytes it managed to send so far, over every request. */
  readonly sent: { bytes: number };
  close(): Promise<void>;
}

/**
 * A server answering every request with `document` (a JSON object) and `padding` bytes of
 * whitespace before its closing brace, valid JSON all the same: `Infinity` sends whitespace
 * without end, until the client leaves. With `declareLength`, the answer's Content-Length says
 * its whole size (a finite padding only). It counts the bytes it managed to send.
 */
export async function openPaddedJsonServer(options: {
  readonly document: Record<string, unknown>;
  readonly padding: number;
  readonly status?: number;
  readonly contentType?: string;
  readonly declareLength?: boolean;
}): Promise<PaddedJsonServer> {
  const json = JSON.stringify(options.document);
  const head = json.slice(0, -1);
  const sent = { bytes: 0 };
  const server: Server = createServer((_req, res) => {
    const total = json.length + options.padding;
    res.writeHead(options.status ?? 200, {
      "content-type": options.contentType ?? "application/json",
      ...(options.declareLength === true && Number.isFinite(total)
        ? { "content-length": String(total) }
        : {}),
    });
    res.write(head);
    sent.bytes += head.length;
    const chunk = " ".repeat(64 * 1024);
    let left = options.padding;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.slice(0, left);
        left -= piece.length;
        sent.bytes += piece.length;
        if (!res.write(piece)) {
          res.once("drain", pump);
          return;
        }
      }
      if (!res.destroyed) res.end("}");
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${String(port)}`,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
