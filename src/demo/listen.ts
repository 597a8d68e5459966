import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Starts one of the demo's servers listening, on loopback unless `host` says otherwise, and
 * gives the port it got (port 0 asks for a free one).
 */
export async function listen(server: Server, port: number, host = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Closes a demo server at once, without waiting for a browser's idle keep-alive connections. */
export function closeNow(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => {
      resolve();
    });
  });
}
