import { randomInt } from "node:crypto";
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

/**
 * A port free right now, for the fixed ports of the demo: drawn below the kernel's ephemeral range
 * (Linux: 32768–60999), where other tests' `listen(0)` and outgoing connections take theirs, so
 * that none of them takes it between this check and the demo's own listen.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + randomInt(12_000);
    if (await canListen(port)) return port;
  }
  throw new Error("no free port between 20000 and 32000");
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => {
      resolve(false);
    });
    server.listen(port, "127.0.0.1", () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
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
