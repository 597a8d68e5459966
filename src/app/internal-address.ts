import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * The networks that no client on the internet has an address in: loopback, private (RFC 1918,
 * RFC 4193), link-local, and the carriers' and clouds' shared space (RFC 6598). A peer there is a
 * proxy, a balancer, a health checker, or a client of the same organisation.
 */
const INTERNAL_NETWORKS = new BlockList();
for (const [network, prefix] of [
  ["127.0.0.0", 8],
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["169.254.0.0", 16],
  ["100.64.0.0", 10],
] as const) {
  INTERNAL_NETWORKS.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
] as const) {
  INTERNAL_NETWORKS.addSubnet(network, prefix, "ipv6");
}

/**
 * Whether `address` is on an internal network ({@link INTERNAL_NETWORKS}); an IPv4 address mapped
 * into IPv6 counts as the IPv4 one. Such clients are not limited (src/http/rate-limit.ts), nor
 * given a share of their own of the federation's refusal budget: a proxy or balancer left out of
 * `trustProxy` is the address of every client behind it, and a limit on it would refuse them all
 * at once (or hide all their refusals but ten), while the flood the limit answers comes from the
 * internet.
 */
export function isInternalAddress(address: string): boolean {
  // A link-local address may carry its zone (`fe80::1%eth0`).
  const bare = address.split("%", 1)[0] ?? "";
  const family = isIPv4(bare) ? "ipv4" : isIPv6(bare) ? "ipv6" : undefined;
  return family !== undefined && INTERNAL_NETWORKS.check(bare, family);
}
