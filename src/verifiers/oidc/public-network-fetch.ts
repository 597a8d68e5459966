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
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated, still routed on some networks)
  ["ff00::", 8], // multicast
  ["100::", 64], // discard
  ["2001::", 32], // Teredo: an IPv4 address hides in it
  ["2001:db8::", 32], // documentation
  ["64:ff9b:1::", 48], // local-use IPv4/IPv6 translation
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, "ipv6");
}

/** True when `address` (an IP literal) is outside the public internet. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return NOT_PUBLIC.check(address, "ipv4");
  if (family !== 6) return true;
  const groups = ipv6Groups(address);
  if (groups === undefined) return true;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  const ipv4 = (high: number, low: number) =>
    `${String(high >> 8)}.${String(high & 0xff)}.${String(low >> 8)}.${String(low & 0xff)}`;
  const [g0 = 0, g1 = 0, g2 = 0, , , g5 = 0, g6 = 0, g7 = 0] = groups;
  // ::/96 holds the unspecified and loopback addresses and the deprecated IPv4-compatible ones.
  if (zeros(0, 6)) return true;
  // An IPv4 address written as IPv6 is that IPv4 address: mapped (::ffff:a.b.c.d), translated
  // (64:ff9b::a.b.c.d, RFC 6052) and 6to4 (2002:aabb:ccdd::, RFC 3056).
  if (zeros(0, 5) && g5 === 0xffff) return NOT_PUBLIC.check(ipv4(g6, g7), "ipv4");
  if (g0 === 0x64 && g1 === 0xff9b && zeros(2, 6)) return NOT_PUBLIC.check(ipv4(g6, g7), "ipv4");
  if (g0 === 0x2002) return NOT_PUBLIC.check(ipv4(g1, g2), "ipv4");
  return NOT_PUBLIC.check(address, "ipv6");
}

/** The eight 16-bit groups of an IPv6 literal (`isIP` already said it is one). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.slice(1).map(Number);
    const high = ((a << 8) | b).toString(16);
    const low = ((c << 8) | d).toString(16);
    text = `${text.slice(0, dotted.index)}${high}:${low}`;
  }
  const [head = "", tail] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const filler = new Array<number>(Math.max(8 - left.length - right.length, 0)).fill(0);
  const groups = [...left, ...filler, ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : undefined;
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
