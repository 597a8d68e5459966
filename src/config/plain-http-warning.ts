import { isLoopbackHost } from "./loopback-host.js";

/**
 * What to warn an operator about when browsers reach the server at `publicUrl` over plain http
 * beyond loopback, or undefined when there is nothing to say (https, or a loopback host).
 *
 * Over plain http the browser cookie that binds hosted flows and direct federation sign-ins to
 * their browser cannot carry the `__Host-` prefix (it needs `Secure`), so anyone who can set a
 * cookie for the host (a sibling subdomain, someone on the network path) can plant a value they
 * know and defeat the binding; passkeys need a secure context too. Loopback is a secure context
 * and no one else can reach it, which is why the demo may run there over http.
 */
export function plainHttpWarning(publicUrl: string): string | undefined {
  const url = new URL(publicUrl);
  if (url.protocol !== "http:" || isLoopbackHost(url.hostname)) return undefined;
  return (
    "publicUrl is plain http beyond loopback: the browser binding of hosted flows and federation " +
    "sign-ins can be defeated by a planted cookie, and passkeys will not work; serve it over https " +
    "(behind a TLS-terminating proxy, set publicUrl to its https address)"
  );
}
