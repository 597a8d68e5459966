import { fork, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { HostKeys, HostReply, HostSpec, HostStats } from "./protocol.js";

/** Children still running, killed if this process exits before it stopped them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

/** `host.js` beside this file once compiled; `host.ts` when run through tsx. */
function hostScript(): string {
  const compiled = fileURLToPath(new URL("./host.js", import.meta.url));
  return existsSync(compiled) ? compiled : fileURLToPath(new URL("./host.ts", import.meta.url));
}

type Waiter = (reply: HostReply) => void;

/** A benchmark server in a child process of its own (`host.ts`). */
export class HostProcess {
  readonly label: string;
  readonly port: number;
  readonly keys: HostKeys | undefined;
  /** From `start` to listening, and the seeding alone, as the child timed them. */
  readonly startMs: number;
  readonly seedMs: number;
  readonly seeded: string;
  readonly #child: ChildProcess;
  readonly #waiters: Waiter[];
  readonly #exited: Promise<void>;

  private constructor(
    label: string,
    child: ChildProcess,
    waiters: Waiter[],
    exited: Promise<void>,
    ready: Extract<HostReply, { type: "ready" }>,
  ) {
    this.label = label;
    this.#child = child;
    this.#waiters = waiters;
    this.#exited = exited;
    this.port = ready.port;
    this.keys = ready.keys;
    this.startMs = ready.startMs;
    this.seedMs = ready.seedMs;
    this.seeded = ready.seeded;
  }

  /**
   * Forks a host, starts `spec` in it and waits until it listens. Its standard output (the
   * server's log) goes to `logFile`, or nowhere. Fails after `timeoutMs`, killing the child.
   */
  static async start(
    label: string,
    spec: HostSpec,
    options: { logFile?: string; timeoutMs: number },
  ): Promise<HostProcess> {
    installExitHook();
    const logFd = options.logFile === undefined ? "ignore" : openSync(options.logFile, "w");
    const child = fork(hostScript(), [], { stdio: ["ignore", logFd, "inherit", "ipc"] });
    if (typeof logFd === "number") closeSync(logFd);
    live.add(child);
    const waiters: Waiter[] = [];
    let exitError: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        exitError = new Error(
          `${label} server exited (${signal ?? `code ${String(code)}`}) while a reply was awaited`,
        );
        for (const waiter of waiters.splice(0))
          waiter({ type: "error", message: exitError.message });
        resolve();
      });
    });
    child.on("message", (message: HostReply) => {
      waiters.shift()?.(message);
    });
    const ready = await new Promise<HostReply>((resolve) => {
      if (exitError !== undefined) {
        resolve({ type: "error", message: exitError.message });
        return;
      }
      const timer = setTimeout(() => {
        resolve({
          type: "error",
          message: `${label} server not listening after ${String(options.timeoutMs)} ms`,
        });
      }, options.timeoutMs);
      waiters.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      child.send({ type: "start", spec });
    });
    if (ready.type !== "ready") {
      child.kill("SIGKILL");
      await exited;
      throw new Error(
        `${label} server failed to start: ${ready.type === "error" ? ready.message : ready.type}`,
      );
    }
    return new HostProcess(label, child, waiters, exited, ready);
  }

  /** The child's cumulative CPU time and event-loop utilisation. */
  async stats(): Promise<HostStats> {
    const reply = await this.#request({ type: "stats" });
    if (reply.type !== "stats") throw new Error(`${this.label} server: no stats (${reply.type})`);
    return reply;
  }

  /** Closes the server gracefully and waits for the child to exit. */
  async close(): Promise<void> {
    if (!live.has(this.#child)) return;
    const reply = await this.#request({ type: "close" });
    if (reply.type === "error") throw new Error(`${this.label} server: ${reply.message}`);
    this.#child.disconnect();
    await this.#exited;
  }

  /** Kills the child with SIGKILL, as a crash would, and waits for it to be gone. */
  async kill(): Promise<void> {
    if (!live.has(this.#child)) return;
    this.#child.kill("SIGKILL");
    await this.#exited;
  }

  #request(message: { type: "stats" | "close" }): Promise<HostReply> {
    if (!live.has(this.#child)) {
      return Promise.resolve({ type: "error", message: `${this.label} server is not running` });
    }
    return new Promise((resolve) => {
      const waiter: Waiter = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      const timer = setTimeout(() => {
        // A late reply must not be taken for the answer to a later request: end the child.
        this.#child.kill("SIGKILL");
        resolve({ type: "error", message: `${this.label} server: no reply in 30 s (killed)` });
      }, 30_000);
      this.#waiters.push(waiter);
      this.#child.send(message);
    });
  }
}

/** Kills every host still running (after a failure, or what the section did not stop itself). */
export async function stopAll(hosts: readonly (HostProcess | undefined)[]): Promise<void> {
  await Promise.allSettled(hosts.map((host) => host?.kill() ?? Promise.resolve()));
}
