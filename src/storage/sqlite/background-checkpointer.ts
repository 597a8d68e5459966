import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { emitStoreWarning } from "../kysely/emit-store-warning.js";

/** How often the background connection copies the WAL into the database file. */
const INTERVAL_MS = 200;

/** The WAL size (pages) at which the serving connection checkpoints itself, as a backstop. */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;

/** What one checkpoint did: WAL frames in all, and how many of them are in the database now. */
export interface CheckpointResult {
  readonly busy: boolean;
  readonly logFrames: number;
  readonly checkpointedFrames: number;
}

interface WorkerMessage {
  readonly type: "checkpointed" | "error";
  readonly result?: CheckpointResult;
  readonly message?: string;
}

// A worker of its own, CommonJS, given better-sqlite3's resolved path: the same code runs from
// the compiled package and from the TypeScript sources under test.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Sqlite = require(workerData.module);
const db = new Sqlite(workerData.path);
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
const checkpoint = () => {
  const [row] = db.pragma("wal_checkpoint(PASSIVE)");
  return { busy: row.busy !== 0, logFrames: row.log, checkpointedFrames: row.checkpointed };
};
const timer = setInterval(() => {
  try { checkpoint(); } catch (error) { parentPort.postMessage({ type: "error", message: String(error) }); }
}, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message.type === "checkpoint") {
    try { parentPort.postMessage({ type: "checkpointed", result: checkpoint() }); }
    catch (error) { parentPort.postMessage({ type: "error", message: String(error) }); }
  } else if (message.type === "close") {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
`;

/**
 * Checkpoints a WAL database from a worker thread with a connection of its own. SQLite's
 * automatic checkpoint runs inside whichever commit crosses the threshold, so one request in a
 * thousand pages waited for the copy and its fsyncs (tens of milliseconds on a busy disk) with
 * the event loop blocked. Here the copy runs beside the server; a PASSIVE checkpoint never
 * blocks the writer. Durability is SQLite's own either way: a commit is in the WAL before it
 * is acknowledged, and the checkpoint syncs the WAL before copying and the file after.
 */
export class BackgroundCheckpointer {
  readonly #worker: Worker;
  readonly #waiting: {
    resolve: (result: CheckpointResult) => void;
    reject: (error: Error) => void;
  }[] = [];
  #closed: Promise<void> | undefined;

  constructor(path: string) {
    const module = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Not the process's flags: `--input-type=module` or a loader would change how the
      // source above is read.
      execArgv: [],
      workerData: { module, path, intervalMs: INTERVAL_MS },
    });
    // The serving connection's own checkpoints remain the backstop: it needs no worker to
    // stay correct, only to stay fast.
    this.#worker.unref();
    this.#worker.on("message", (message: WorkerMessage) => {
      if (message.type === "checkpointed" && message.result !== undefined) {
        this.#waiting.shift()?.resolve(message.result);
      } else if (message.type === "error") {
        const error = new Error(message.message ?? "unknown");
        this.#waiting.shift()?.reject(error);
        emitStoreWarning("A background WAL checkpoint failed", error);
      }
    });
    this.#worker.on("error", (error) => {
      emitStoreWarning("The WAL checkpoint worker stopped", error);
    });
    this.#worker.on("exit", () => {
      for (const waiter of this.#waiting.splice(0)) {
        waiter.reject(new Error("The WAL checkpoint worker has exited"));
      }
    });
  }

  /** Checkpoints now and reports what it did (tests and diagnostics). */
  checkpoint(): Promise<CheckpointResult> {
    if (this.#closed !== undefined) {
      return Promise.reject(new Error("The WAL checkpoint worker has exited"));
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#worker.postMessage({ type: "checkpoint" });
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#worker.once("exit", () => {
        resolve();
      });
      // Unreferenced, the worker would let the process exit before closing confirms.
      this.#worker.ref();
      this.#worker.postMessage({ type: "close" });
    });
    return this.#closed;
  }
}
