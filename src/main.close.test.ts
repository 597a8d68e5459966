// Threat: a resource that outlives the application. The connection pool that reaches tenants'
// OIDC IdPs on the public internet (an undici Agent) keeps its sockets to IdPs open after the
// application or the server is closed: a process that closes and reopens the application (tests,
// an embedding host) piles them up, and a shutdown leaves them to the operating system.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Agent } from "undici";
import { DEFAULT_SETTINGS } from "./app/context.js";
import { loadConfig } from "./config/load-config.js";
import { openApplication, startServer } from "./main.js";

/** Every undici Agent made while a test runs, to see whether the application closed it. */
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

afterEach(() => {
  agents.length = 0;
});

describe("closing the application", () => {
  it("closes the connections to tenants' OIDC IdPs (idpNetwork public)", async () => {
    const opened = await openApplication({
      db: "sqlite::memory:",
      exemptions: DEFAULT_SETTINGS.exemptions,
    });
    expect(agents).toHaveLength(1);
    expect(agents.map((agent) => agent.closed)).toEqual([false]);
    await opened.close();
    expect(agents.map((agent) => agent.closed)).toEqual([true]);
  });

  it("closes them when the server shuts down", async () => {
    const config = {
      ...loadConfig({ env: {}, overrides: { db: "sqlite::memory:" } }),
      port: 0,
      logLevel: "silent" as const,
    };
    const running = await startServer(config, { handleSignals: false });
    expect(agents.map((agent) => agent.closed)).toEqual([false]);
    await running.close();
    expect(agents.map((agent) => agent.closed)).toEqual([true]);
  });
});
