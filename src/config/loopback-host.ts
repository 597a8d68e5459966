import { isIP } from "node:net";

/**
 * Whether `host` names this machine's loopback only: `localhost` (and its subdomains, RFC 6761
 * §6.3), an IPv4 address in 127/8, `::1` or an IPv4-mapped 127/8 address, with or without the
 * brackets a URL puts around IPv6. For a listening address and a URL's host alike.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  // An IPv4-mapped address as written (::ffff:127.0.0.1) or as a URL writes it (::ffff:7f00:1).
  if (isIP(name) === 6) {
    return name === "::1" || /^::ffff:(127\.\d+\.\d+\.\d+|7f[0-9a-f]{2}:[0-9a-f]{1,4})$/.test(name);
  }
  return false;
}
