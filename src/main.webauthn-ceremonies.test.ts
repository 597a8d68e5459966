// The WebAuthn library and our ceremonies over it load on first use (half a second on an idle
// machine, seconds on a busy one), which the CLI's commands never pay. A server loads them
// before it listens, so that its first passkey ceremony does not wait for them.
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "./config/load-config.js";
import { startServer, type RunningServer } from "./main.js";
import { webAuthnCeremoniesLoaded } from "./verifiers/webauthn/index.js";

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe("the server's start", () => {
  it("has the WebAuthn ceremonies loaded before it listens", async () => {
    expect(webAuthnCeremoniesLoaded()).toBe(false);
    const config = loadConfig({ env: { TENANT_MFA_DB: "sqlite::memory:" } });
    running = await startServer(
      { ...config, port: 0 },
      {
        handleSignals: false,
        logger: pino({ level: "silent" }),
      },
    );
    expect(webAuthnCeremoniesLoaded()).toBe(true);
  });
});
