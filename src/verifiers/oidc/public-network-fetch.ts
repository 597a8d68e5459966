import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";
import type { Agent, RequestInit as UndiciRequestInit } from "undici";
import type { FetchLike } from "./fetch-json.js";
import { DEFAULT_LOOKUP_SLOTS, lookupInTurn, type ResolveHost } from "./lookup-in-turn.js";

export type { ResolveHost } from "./lookup-in-turn.js";

/**
 * How long a connection's own lookup may wait for its turn: undici gives up on a connection
 * after its connect timeout (10 s by default), and a lookup started later would serve nobody.
 */
const CONNECT_LOOKUP_WAIT_MS = 10_000;

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

const resolveWithDns: ResolveHost = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/** Options of {@link publicNetworkFetch} and {@link anyNetworkFetch}. */
export interface IdpNetworkFetchOptions {
  /** How host names are resolved. Default: `dns.lookup`. Tests answer with fixed addresses. */
  readonly lookup?: ResolveHost;
  /**
   * How many lookups may run at once; the others wait their turn, within their request's
   * timeout. Default 2 ({@link DEFAULT_LOOKUP_SLOTS}), half of libuv's thread pool.
   */
  readonly lookupSlots?: number;
}

/** A {@link publicNetworkFetch} or {@link anyNetworkFetch}: a `fetch`, and the end of its connections. */
export interface IdpNetworkFetch extends FetchLike {
  /**
   * Closes the connection pool: requests in flight finish, idle sockets to IdPs end, and later
   * requests fail. Closing again does nothing more.
   */
  close(): Promise<void>;
}

/**
 * A `fetch` that reaches hosts on the public internet only. A tenant administrator names its
 * IdP's issuer, and discovery names the endpoints: without this, they could point this server's
 * requests at its own network (an admin interface, a metadata service) and read what answers
 * from the rejection details. A host is refused when any address it resolves to is not public.
 *
 * The verdict that counts is the one on the connection: every socket is opened through
 * {@link lookupPublicAddresses}, so it connects to the very addresses that were vetted and a name
 * that answers a public address first and an internal one next (DNS rebinding, or two A records
 * served in turn) is refused when it connects. Redirect hops, if a caller ever follows them, open
 * their own connections and are vetted the same way. The URL's host is also vetted before the
 * request starts, at the cost of one more lookup: an internal host fails before any connection
 * is set up, and the check at connect is then the one that a changing answer meets.
 *
 * Lookups take turns ({@link lookupInTurn}): `dns.lookup` holds a thread of libuv's pool, which
 * WebCrypto and fs share, for as long as a name server keeps it waiting, so IdP names that never
 * answer must not take the whole pool. A request waiting for its turn gives up at its timeout.
 */
export function publicNetworkFetch(options: IdpNetworkFetchOptions = {}): IdpNetworkFetch {
  return idpNetworkFetch(true, options);
}

/**
 * A `fetch` that reaches hosts on any network (`idpNetwork: any`, for IdPs on a private network
 * the platform reaches): no address is refused, and host names are looked up in turn, as
 * {@link publicNetworkFetch} looks them up, once, when a connection is opened.
 */
export function anyNetworkFetch(options: IdpNetworkFetchOptions = {}): IdpNetworkFetch {
  return idpNetworkFetch(false, options);
}

function idpNetworkFetch(publicOnly: boolean, options: IdpNetworkFetchOptions): IdpNetworkFetch {
  const inTurn = lookupInTurn(
    options.lookup ?? resolveWithDns,
    options.lookupSlots ?? DEFAULT_LOOKUP_SLOTS,
  );
  const resolve: ResolveHost = (hostname) =>
    inTurn(hostname, AbortSignal.timeout(CONNECT_LOOKUP_WAIT_MS));
  // undici is loaded, and the pool made, at the first request: a process that never asks an IdP
  // anything (a CLI command, a server without OIDC IdPs) does not load it.
  let pool: Promise<{ agent: Agent; fetch: typeof import("undici").fetch }> | undefined;
  const connectionPool = () =>
    (pool ??= import("undici").then(({ Agent, buildConnector, fetch }) => {
      const connect = buildConnector({ lookup: lookupAddresses(resolve, publicOnly) });
      const agent = new Agent({
        // An IP literal skips the lookup, so it is judged here, on its way to the socket.
        connect: (connection, callback) => {
          if (
            publicOnly &&
            isIP(connection.hostname) !== 0 &&
            isNonPublicAddress(connection.hostname)
          ) {
            callback(refusal(connection.hostname, connection.hostname), null);
            return;
          }
          connect(connection, callback);
        },
      });
      return { agent, fetch };
    }));
  let closed = false;
  const guardedFetch: FetchLike = async (input, init) => {
    if (publicOnly) {
      const hostname = new URL(input).hostname.replace(/^\[(.*)\]$/, "$1");
      const addresses =
        isIP(hostname) === 0 ? await inTurn(hostname, init.signal ?? undefined) : [hostname];
      const refused = addresses.find(isNonPublicAddress);
      if (addresses.length === 0 || refused !== undefined) throw refusal(hostname, refused);
    }
    // Closed before its first request: no pool is made only to be refused.
    if (closed && pool === undefined) throw new Error("The IdP connection pool is closed.");
    const { agent, fetch } = await connectionPool();
    try {
      // undici's own fetch, so that the dispatcher is the one it was built for. Its RequestInit and
      // Response are the WHATWG ones that Node's global fetch implements too (Node bundles an
      // older undici), so only their TypeScript declarations differ.
      const response = await fetch(input, {
        ...(init as unknown as UndiciRequestInit),
        dispatcher: agent,
      });
      return response as unknown as Response;
    } catch (error) {
      // fetch wraps a failed connection in TypeError("fetch failed"); a refusal at connect must
      // read the same as one before it.
      const cause = error instanceof Error ? error.cause : undefined;
      throw cause instanceof NonPublicAddressError ? cause : error;
    }
  };
  // The Agent keeps sockets to IdPs alive between requests: its owner ends them on shutdown.
  // Memoised: a closed Agent rejects a second close (ClientDestroyedError).
  let closing: Promise<void> | undefined;
  const close = () => {
    closed = true;
    return (closing ??=
      pool === undefined ? Promise.resolve() : pool.then(({ agent }) => agent.close()));
  };
  return Object.assign(guardedFetch, { close });
}

/**
 * A `net` lookup that resolves with `resolve` and hands the socket every address only when all of
 * them are public: the socket connects to what was vetted, never to a second answer.
 */
export function lookupPublicAddresses(resolve: ResolveHost): LookupFunction {
  return lookupAddresses(resolve, true);
}

/** A `net` lookup that resolves with `resolve`; with `publicOnly`, {@link lookupPublicAddresses}. */
function lookupAddresses(resolve: ResolveHost, publicOnly: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const refused = publicOnly ? addresses.find(isNonPublicAddress) : undefined;
        const wanted = familyNumber(options.family);
        const entries = addresses
          .map((address) => ({ address, family: isIP(address) }))
          .filter((entry) => wanted === 0 || entry.family === wanted);
        const [first] = entries;
        if (refused !== undefined || first === undefined) {
          callback(refusal(hostname, refused), "");
        } else if (options.all === true) {
          callback(null, entries);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)), "");
      },
    );
  };
}

/** `dns.LookupOptions.family` as a number: 4, 6, or 0 for either. */
function familyNumber(family: number | "IPv4" | "IPv6" | undefined): number {
  if (family === "IPv4") return 4;
  if (family === "IPv6") return 6;
  return family ?? 0;
}

function refusal(hostname: string, address: string | undefined): NonPublicAddressError {
  return new NonPublicAddressError(
    `${hostname} is not on the public internet (${address ?? "no address"}); IdPs on a private network need idpNetwork "any"`,
  );
}
