// Threat: a resource that outlives the application. The connection pool that reaches tenants'
// OIDC IdPs on the public internet (an undici Agent) keeps its sockets to IdPs open after the
// application or the server is closed: a process that closes and reopens the application (tests,
// an embedding host) piles them up, and a shutdown leaves them to the operating system. The pool
// is made at the first request to an IdP (public-network-fetch.test.ts closes one so made);
// here, the application and the server close the guarded fetch that would hold it.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Agent } from "undici";
import { DEFAULT_SETTINGS } from "./app/context.js";
import { loadConfig } from "./config/load-config.js";
import { openApplication, startServer } from "./main.js";

/** Every undici Agent made while a test runs. */
const agents = vi.hoisted((): Agent[] => []);
vi.mock("undici", async (importOriginal) => {
  const undici = await importOriginal<typeof import("undici")>();
  class RecordedAgent extends undici.Agent {
    constructor(...options: ConstructorParameters<typeof undici.Agent>) {
      super(...options);
      agents.push(this);
    }
  }
  return { ...undici, Agent: RecordedAgent };
});

/** Every guarded fetch the application made, and whether it was closed. */
const fetches = vi.hoisted((): { closed: boolean }[] => []);
vi.mock("./verifiers/oidc/public-network-fetch.js", async (importOriginal) => {
  const original =
    await importOriginal<typeof import("./verifiers/oidc/public-network-fetch.js")>();
  return {
    ...original,
    publicNetworkFetch: (...options: Parameters<typeof original.publicNetworkFetch>) => {
      const guarded = original.publicNetworkFetch(...options);
      const seen = { closed: false };
      fetches.push(seen);
      const close = () => guarded.close();
      return Object.assign((input: string, init: RequestInit) => guarded(input, init), {
        close: () => {
          seen.closed = true;
          return close();
        },
      });
    },
  };
});

afterEach(() => {
  agents.length = 0;
  fetches.length = 0;
});

describe("closing the application", () => {
  it("closes the guarded fetch to tenants' OIDC IdPs (idpNetwork public), which made no pool unasked", async () => {
    const opened = await openApplication({
      db: "sqlite::memory:",
      exemptions: DEFAULT_SETTINGS.exemptions,
    });
    expect(fetches).toEqual([{ closed: false }]);
    await opened.close();
    expect(fetches).toEqual([{ closed: true }]);
    expect(agents).toEqual([]);
  });

  it("closes it when the server shuts down", async () => {
    const config = {
      ...loadConfig({ env: {}, overrides: { db: "sqlite::memory:" } }),
      port: 0,
      logLevel: "silent" as const,
    };
    const running = await startServer(config, { handleSignals: false });
    expect(fetches).toEqual([{ closed: false }]);
    await running.close();
    expect(fetches).toEqual([{ closed: true }]);
    expect(agents).toEqual([]);
  });
});
