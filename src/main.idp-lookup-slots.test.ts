// Threat: IdP host names whose name servers never answer taking more of libuv's thread pool than
// the operator allows. `dns.lookup` holds a pool thread (shared with WebCrypto and fs) for as
// long as a name server keeps it waiting; the application looks IdP names up at most
// `oidc.lookupSlots` at once (default 2), the others waiting their turn. Here the system resolver
// is replaced (vi.mock of node:dns/promises, hence a process of its own) by one that keeps
// `*.slow.example` waiting until the test lets it answer.
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS } from "./app/context.js";
import { loadConfig } from "./config/load-config.js";
import { openApplication, type OpenedApplication } from "./main.js";

/** The slow names looked up so far, and the answers they wait for. */
const slow = vi.hoisted(() => ({
  started: [] as string[],
  waiting: [] as (() => void)[],
}));
vi.mock("node:dns/promises", async (importOriginal) => {
  const dns = await importOriginal<typeof import("node:dns/promises")>();
  const lookup = ((hostname: string, options: unknown) => {
    if (!hostname.endsWith(".slow.example")) return dns.lookup(hostname, options as never);
    slow.started.push(hostname);
    // Answers, when let, a loopback address, which the public-network guard refuses.
    return new Promise((resolve) => {
      slow.waiting.push(() => {
        resolve([{ address: "127.0.0.1", family: 4 }]);
      });
    });
  }) as typeof dns.lookup;
  return { ...dns, lookup, default: { ...dns, lookup } };
});

const RETURN = "https://app.acme.example/signed-in";
const NAMES = ["a", "b", "c", "d", "e"];

let opened: OpenedApplication | undefined;
afterEach(async () => {
  for (const answer of slow.waiting.splice(0)) answer();
  slow.started.length = 0;
  await opened?.close();
  opened = undefined;
});

/**
 * Starts a sign-in at five IdPs registered under slow names, all at once, with `lookupSlots`
 * from the environment; resolves with how many lookups ran at once once `expected` had started
 * and the others had had time to start too.
 */
async function lookupsAtOnce(lookupSlots: string | undefined, expected: number): Promise<number> {
  const config = loadConfig({
    env: lookupSlots === undefined ? {} : { TENANT_MFA_OIDC_LOOKUP_SLOTS: lookupSlots },
  });
  opened = await openApplication({
    db: "sqlite::memory:",
    exemptions: DEFAULT_SETTINGS.exemptions,
    oidc: config.oidc,
  });
  const { app } = opened;
  const admin = await app.authenticate((await opened.bootstrap({ name: "ops" })).secret);
  await app.tenants.create(admin, { id: "acme", name: "Acme", returnUrls: [RETURN] });
  for (const name of NAMES) {
    await app.idps.put(admin, "acme", name, {
      registration: {
        protocol: "oidc",
        oidc: { issuer: `https://${name}.slow.example`, clientId: "tenant-mfa", clientSecret: "s" },
      },
      ifMatch: undefined,
    });
  }
  const signIns = Promise.allSettled(
    NAMES.map((name) =>
      app.federation.start("acme", name, { returnTo: RETURN, browser: "a-browser-cookie" }),
    ),
  );
  await vi.waitFor(
    () => {
      expect(slow.started.length).toBeGreaterThanOrEqual(expected);
    },
    { timeout: 5_000 },
  );
  // Time for any other lookup that could start to have started.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const atOnce = slow.started.length;

  // The name servers answer: each sign-in is refused (a loopback address), the waiting lookups
  // taking their turns as slots free up.
  while (slow.started.length < NAMES.length || slow.waiting.length > 0) {
    for (const answer of slow.waiting.splice(0)) answer();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (const signIn of await signIns) {
    expect(signIn).toMatchObject({ status: "rejected", reason: { code: "federation.rejected" } });
  }
  expect([...slow.started].sort()).toEqual(NAMES.map((name) => `${name}.slow.example`));
  return atOnce;
}

describe("IdP host name lookups at once (oidc.lookupSlots)", () => {
  it("are at most two by default", async () => {
    expect(await lookupsAtOnce(undefined, 2)).toBe(2);
  });

  it("are as many as the operator sets: three with TENANT_MFA_OIDC_LOOKUP_SLOTS=3", async () => {
    expect(await lookupsAtOnce("3", 3)).toBe(3);
  });
});
