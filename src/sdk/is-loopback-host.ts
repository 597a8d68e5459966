/**
 * Whether `hostname` (a WHATWG URL's `hostname`, so lower-cased, IPv4 in dotted decimal and IPv6
 * in brackets) names this machine's loopback interface, where plain http never leaves the
 * machine: `localhost`, 127.0.0.0/8 and `::1` (also written as an IPv4-mapped 127.x address).
 * Not `*.localhost`: without a resolver that follows RFC 6761, such a name is looked up in DNS.
 */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    hostname === "[::1]" ||
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname)
  );
}
