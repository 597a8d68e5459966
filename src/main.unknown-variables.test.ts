// Threat: a mistyped TENANT_MFA_* variable leaves the server on a default without anyone knowing
// (see src/config/unknown-variables.test.ts for the names). The server names each one in its log
// as it starts, before it opens the store (a wrong store is what a typo of TENANT_MFA_DB gives),
// with the setting it probably meant and never with the value; the other commands say it on
// stderr. What is warned about is not refused: the prefix is shared with variables that are not
// the server's (the platform's own scripts may use it too), so an unknown name is no proof of a
// mistake, and a server must not fail to start over a variable meant for something else.
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createProgram } from "./cli/program.js";
import { loadConfig } from "./config/load-config.js";
import { startServer, type RunningServer } from "./main.js";

const SECRET = "Zm9yLXRoZS1sb2ctbmV2ZXI6IGEga2V5IHRoYXQgbXVzdCBub3QgbGVhaw==";

const ENV = {
  TENANT_MFA_DB: "sqlite::memory:",
  TENANT_MFA_ENCRYPTION_KEY: SECRET,
  TENANT_MFA_DB_URL: `postgres://tenant:${SECRET}@db.internal/tenant_mfa`,
  // The SDK's API key, as docs/sdk.md names it: not the server's, and not a mistake.
  TENANT_MFA_KEY: SECRET,
  PATH: "/usr/bin",
};

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** A logger that keeps its JSON lines. */
function capturingLogger() {
  const lines: string[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    }),
  );
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records };
}

describe("the server's start", () => {
  it("logs a warning naming each unknown variable and the setting it probably meant, never its value", async () => {
    const { logger, lines, records } = capturingLogger();
    const config = { ...loadConfig({ env: ENV }), port: 0 };
    running = await startServer(config, { handleSignals: false, env: ENV, logger });
    const warnings = records().filter((record) => record["level"] === 40);
    expect(
      warnings.map(({ variable, suggestion, msg }) => ({ variable, suggestion, msg })),
    ).toEqual([
      {
        variable: "TENANT_MFA_DB_URL",
        suggestion: "TENANT_MFA_DB",
        msg: "TENANT_MFA_DB_URL is not a tenant-mfa setting and is ignored (did you mean TENANT_MFA_DB?)",
      },
      {
        variable: "TENANT_MFA_ENCRYPTION_KEY",
        suggestion: "TENANT_MFA_ENCRYPTION_KEYS",
        msg: "TENANT_MFA_ENCRYPTION_KEY is not a tenant-mfa setting and is ignored (did you mean TENANT_MFA_ENCRYPTION_KEYS?)",
      },
    ]);
    expect(lines.join("")).not.toContain(SECRET);
    expect(lines.join("")).not.toContain('TENANT_MFA_KEY"');
    // Warned, not refused: the server is up.
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  });

  it("logs nothing of the kind when every variable is known", async () => {
    const { logger, records } = capturingLogger();
    const env = { TENANT_MFA_DB: "sqlite::memory:", TENANT_MFA_KEY: SECRET };
    running = await startServer(
      { ...loadConfig({ env }), port: 0 },
      { handleSignals: false, env, logger },
    );
    expect(records().filter((record) => record["level"] === 40)).toEqual([]);
  });
});

describe("the other commands", () => {
  it("say it on stderr, and still run", async () => {
    let stderr = "";
    let stdout = "";
    let exitCode = 0;
    await createProgram({
      env: ENV,
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      setExitCode: (code) => (exitCode = code),
    }).parseAsync(["node", "tenant-mfa", "migrate"]);
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/Applied \d+ migration/);
    expect(stderr).toBe(
      "tenant-mfa: warning: TENANT_MFA_DB_URL is not a tenant-mfa setting and is ignored (did you mean TENANT_MFA_DB?)\n" +
        "tenant-mfa: warning: TENANT_MFA_ENCRYPTION_KEY is not a tenant-mfa setting and is ignored (did you mean TENANT_MFA_ENCRYPTION_KEYS?)\n",
    );
  });
});
