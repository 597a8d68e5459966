import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import type { FetchLike } from "./fetch-json.js";

/**
 * Addresses that are not on the public internet: loopback, private (RFC 1918, RFC 4193), shared
 * (RFC 6598), link-local (which holds cloud instances' metadata services), benchmarking,
 * multicast and reserved ranges, for IPv4 and IPv6.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, "ipv6");
}

/** True when `address` (an IP literal) is outside the public internet. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    // An IPv4 address written as IPv6 (::ffff:10.0.0.1) is that IPv4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped !== undefined) return NOT_PUBLIC.check(mapped, "ipv4");
    return NOT_PUBLIC.check(address, "ipv6");
  }
  return NOT_PUBLIC.check(address, "ipv4");
}

/**
 * The refusal of a host off the public internet. Its name is what a rejection's detail shows
 * ("discovery request failed (NonPublicAddress)"); the message, with the address, stays here.
 */
export class NonPublicAddressError extends Error {
  override readonly name = "NonPublicAddress";
}

/** Every address a host name resolves to. */
export type ResolveHost = (hostname: string) => Promise<readonly string[]>;

const resolveWithDns: ResolveHost = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * A `fetch` that reaches hosts on the public internet only. A tenant administrator names its
 * IdP's issuer, and discovery names the endpoints: without this, they could point this server's
 * requests at its own network (an admin interface, a metadata service) and read what answers
 * from the rejection details. A host is refused when any address it resolves to is not public.
 * The connection itself resolves the name again, so a name that changes its answer in between
 * (DNS rebinding) can still slip through; a network-level egress rule is the complete answer.
 */
export function publicNetworkFetch(
  inner: FetchLike,
  resolve: ResolveHost = resolveWithDns,
): FetchLike {
  return async (input, init) => {
    const hostname = new URL(input).hostname.replace(/^\[(.*)\]$/, "$1");
    const addresses = isIP(hostname) === 0 ? await resolve(hostname) : [hostname];
    const refused = addresses.find(isNonPublicAddress);
    if (addresses.length === 0 || refused !== undefined) {
      throw new NonPublicAddressError(
        `${hostname} is not on the public internet (${refused ?? "no address"}); IdPs on a private network need idpNetwork "any"`,
      );
    }
    return inner(input, init);
  };
}
