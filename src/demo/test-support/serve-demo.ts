import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProgram } from "../../cli/program.js";
import type { RunningServer } from "../../main.js";

/**
 * `tenant-mfa serve --demo` run in-process as the CLI runs it, with its output captured: the
 * demo's tests start the real server, the development IdP and the demo platform this way.
 *
 * @module
 */

/** What one `serve --demo` printed, and the running server (closing it closes the demo apps). */
export interface DemoRun {
  stdout: string;
  stderr: string;
  exitCode: number;
  running?: RunningServer;
}

/** Runs `serve --demo ARGS`; `onServing` sees the running server (tests close it). */
export async function serveDemo(
  args: readonly string[],
  onServing?: (running: RunningServer) => void,
): Promise<DemoRun> {
  const result: DemoRun = { stdout: "", stderr: "", exitCode: 0 };
  await createProgram({
    env: { TENANT_MFA_LOG_LEVEL: "silent" },
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
    onServing: (running) => {
      result.running = running;
      onServing?.(running);
    },
  }).parseAsync(["node", "tenant-mfa", "serve", "--demo", ...args]);
  return result;
}

/** A port free right now (the operating system's pick), for the fixed ports of the demo. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

/** The ports one demo listens on: the server, the demo platform and the development IdP. */
export interface DemoPorts {
  readonly server: number;
  readonly platform: number;
  readonly idp: number;
}

/** A demo of its own: a new SQLite file, free ports, and the `serve --demo` arguments for them. */
export async function freshDemo(
  prefix: string,
): Promise<{ ports: DemoPorts; args: readonly string[] }> {
  const db = `sqlite:${join(mkdtempSync(join(tmpdir(), prefix)), "demo.db")}`;
  const ports = { server: await freePort(), platform: await freePort(), idp: await freePort() };
  const args = [
    "--db",
    db,
    "--port",
    String(ports.server),
    "--demo-platform-port",
    String(ports.platform),
    "--demo-idp-port",
    String(ports.idp),
  ];
  return { ports, args };
}

/** The secret printed on the line of the demo key named `name` ("Demo API keys (shown once)"). */
export const printedSecret = (stdout: string, name: string): string =>
  stdout
    .split("\n")
    .find((line) => line.trimStart().startsWith(name))
    ?.trim()
    .split(/\s+/)
    .at(-1) ?? "";
