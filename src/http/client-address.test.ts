/**
 * Threat: a client forges `X-Forwarded-For` to choose the address that per-address limits count
 * against (the API-key failure limiter, the verification throttle): rotating forged addresses
 * dodges them, and a victim's address puts the victim into back-off. Only the proxies that
 * `trustProxy` names are believed, and only for the entries they appended; the client address is
 * the first untrusted one from the right.
 */
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load-config.js";
import { buildServer } from "./build-server.js";
import { createMetrics } from "./metrics.js";
import { capturedLog } from "./test-support/captured-log.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const closable of open.splice(0).reverse()) await closable.close();
});

interface Served {
  readonly server: FastifyInstance;
  readonly t: TestServer;
  readonly logLines: string[];
}

/** The real server over a real application, configured by `TENANT_MFA_TRUST_PROXY`. */
async function serveTrusting(trustProxy: string): Promise<Served> {
  const t = await openTestServer();
  open.push(t);
  const { logger, lines: logLines } = capturedLog();
  const config = loadConfig({ env: { TENANT_MFA_TRUST_PROXY: trustProxy } });
  const server = buildServer({
    app: t.app,
    config: { ...config, publicUrl: "https://mfa.test" },
    logger,
    metrics: createMetrics(),
    now: () => t.clock.now(),
    authFailureLimit: { attempts: 2, windowMs: 60_000 },
  });
  open.push(server);
  return { server, t, logLines };
}

/** Sends a wrong API key from the TCP peer `peer`, with `forwardedFor` as its header. */
async function wrongKey(served: Served, peer: string, forwardedFor?: string): Promise<number> {
  const response = await served.server.inject({
    method: "GET",
    url: "/v1/tenants",
    remoteAddress: peer,
    headers: {
      authorization: "Bearer tmfa_wrong",
      ...(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }),
    },
  });
  return response.statusCode;
}

/** The client address that the server logged for its last request. */
function loggedAddress(served: Served): unknown {
  const last = JSON.parse(served.logLines.at(-1) ?? "{}") as { req?: { remoteAddress?: unknown } };
  return last.req?.remoteAddress;
}

const PROXY = "10.0.0.1";
const ATTACKER = "198.51.100.7";
const VICTIM = "198.51.100.8";

describe("client address behind one trusted proxy", () => {
  it("is the entry the proxy appended, not the leftmost one the client wrote", async () => {
    const served = await serveTrusting(PROXY);
    expect(await wrongKey(served, PROXY, `203.0.113.77, ${ATTACKER}`)).toBe(401);
    expect(loggedAddress(served)).toBe(ATTACKER);
  });

  it("does not let forged leftmost entries dodge the failure limiter or frame a victim", async () => {
    const served = await serveTrusting(PROXY);
    const forged = [VICTIM, "203.0.113.1", "203.0.113.2", "203.0.113.3"];
    expect(await wrongKey(served, PROXY, `${forged[0]}, ${ATTACKER}`)).toBe(401);
    expect(await wrongKey(served, PROXY, `${forged[1]}, ${ATTACKER}`)).toBe(401);
    expect(await wrongKey(served, PROXY, `${forged[2]}, ${ATTACKER}`)).toBe(429);
    expect(await wrongKey(served, PROXY, `${forged[3]}, ${VICTIM}, ${ATTACKER}`)).toBe(429);
    // The victim, whose address the attacker wrote, and the proxy itself are not slowed down.
    expect(await wrongKey(served, PROXY, VICTIM)).toBe(401);
    expect(await wrongKey(served, PROXY)).toBe(401);
    expect(loggedAddress(served)).toBe(PROXY);
  });
});

describe("client address with a list of trusted proxy ranges", () => {
  it("believes the header only from a peer in the list", async () => {
    const served = await serveTrusting("10.0.0.0/8,192.168.0.1");
    expect(await wrongKey(served, "10.2.3.4", VICTIM)).toBe(401);
    expect(loggedAddress(served)).toBe(VICTIM);
    expect(await wrongKey(served, "192.168.0.1", ATTACKER)).toBe(401);
    expect(loggedAddress(served)).toBe(ATTACKER);
    // A client reaching the server directly: its header is ignored.
    expect(await wrongKey(served, "192.168.0.2", VICTIM)).toBe(401);
    expect(loggedAddress(served)).toBe("192.168.0.2");
    expect(await wrongKey(served, "203.0.113.50", `${VICTIM}, 10.0.0.9`)).toBe(401);
    expect(loggedAddress(served)).toBe("203.0.113.50");
  });

  it("skips every trusted hop from the right and stops at the first untrusted address", async () => {
    const served = await serveTrusting("10.0.0.0/8");
    expect(await wrongKey(served, "10.0.0.1", `203.0.113.77, ${ATTACKER}, 10.9.9.9`)).toBe(401);
    expect(loggedAddress(served)).toBe(ATTACKER);
  });

  it("counts a direct client's failures against its own address, whatever it forwards", async () => {
    const served = await serveTrusting("10.0.0.0/8");
    const direct = "203.0.113.50";
    expect(await wrongKey(served, direct, VICTIM)).toBe(401);
    expect(await wrongKey(served, direct, "203.0.113.1")).toBe(401);
    expect(await wrongKey(served, direct, "203.0.113.2")).toBe(429);
    expect(await wrongKey(served, "10.2.3.4", VICTIM)).toBe(401);
  });

  it("builds a server from every form of address that the configuration accepts", async () => {
    const served = await serveTrusting(
      "127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,2001:db8::/32,::ffff:10.1.2.3,::ffff:10.0.0.0/104,fe80::1%eth0,10.0.0.5/32,::/1,loopback,linklocal,uniquelocal",
    );
    expect(await wrongKey(served, "172.16.5.5", ATTACKER)).toBe(401);
    expect(loggedAddress(served)).toBe(ATTACKER);
  });
});

describe("client address without trusted proxies (the default)", () => {
  it("is the TCP peer; the header is ignored", async () => {
    const served = await serveTrusting("false");
    expect(await wrongKey(served, PROXY, `203.0.113.77, ${ATTACKER}`)).toBe(401);
    expect(loggedAddress(served)).toBe(PROXY);
  });
});
