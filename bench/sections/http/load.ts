import { connect, type Socket } from "node:net";
import { cpuUsage } from "node:process";

/**
 * A closed-loop HTTP/1.1 load generator over keep-alive TCP connections on 127.0.0.1: each
 * connection has exactly one request in flight (no pipelining) and sends the next one as soon as
 * the previous response is complete. It is deliberately small: the caller hands over each
 * request as bytes, and a response is read by its status line and `content-length` (a response
 * without one, or chunked, or asking to close the connection, aborts the run), so that the client
 * spends as little CPU as possible beside the server on a small machine. (`node:http`'s client
 * took about 2.5 times the CPU per request here, and undici is not installed.)
 */

/** What to send, and how to judge what comes back. */
export interface LoadTarget {
  readonly port: number;
  /** The bytes of request number `index` (a complete HTTP/1.1 request with `content-length`). */
  readonly request: (index: number) => Buffer;
  /**
   * Called with every 2xx response, in the window or not; throws to abort the run (an outcome
   * that does not match the request, say). A non-2xx status aborts the run before it is called.
   */
  readonly check: (index: number, status: number, body: Buffer) => void;
}

export interface LoadOptions {
  /** Connections, hence requests in flight. */
  readonly concurrency: number;
  /** Length of the window in which requests are sent and counted. */
  readonly durationMs: number;
  /** How long in-flight requests may take to finish after the window before the run fails. */
  readonly drainTimeoutMs?: number;
  /** How long connecting may take before the run fails. */
  readonly connectTimeoutMs?: number;
}

/** One run of {@link runLoad}. */
export interface LoadResult {
  /** 2xx responses that completed inside the window. */
  readonly completed: number;
  /** 2xx responses in all, including those completed while draining after the window. */
  readonly responses: number;
  /** The window's length, ms: responses completed by then are counted in `completed`. */
  readonly windowMs: number;
  /** `completed` per second of the window. */
  readonly perSecond: number;
  /** Latency of every request sent in the window (drained ones too), ms, from its write to its last byte. */
  readonly latenciesMs: Float64Array;
  /** This process's CPU time (user + system) over wall time, window and drain. */
  readonly clientCpuPerWall: number;
  /** The next request index after this run (indices continue across runs of one target). */
  readonly nextIndex: number;
}

/** A non-2xx response, a broken connection or a response this client cannot read. */
export class LoadError extends Error {
  override readonly name = "LoadError";
}

const HEADER_END = Buffer.from("\r\n\r\n", "latin1");
const STATUS_PREFIX = "HTTP/1.1 ";
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)[ \t]*(?=\r\n|$)/i;
const CHUNKED = /\r\ntransfer-encoding:/i;
const CLOSE = /\r\nconnection:[ \t]*close/i;

class Latencies {
  #values = new Float64Array(1 << 16);
  #length = 0;
  push(value: number): void {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = value;
  }
  get length(): number {
    return this.#length;
  }
  toArray(): Float64Array {
    return this.#values.slice(0, this.#length);
  }
}

function openConnections(port: number, count: number, timeoutMs: number): Promise<Socket[]> {
  return new Promise((resolve, reject) => {
    const sockets: Socket[] = [];
    let connected = 0;
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(new LoadError(`connecting ${String(count)} sockets took over ${String(timeoutMs)} ms`));
    }, timeoutMs);
    for (let k = 0; k < count; k++) {
      const socket = connect({ port, host: "127.0.0.1", noDelay: true });
      sockets.push(socket);
      socket.once("error", (error) => {
        fail(new LoadError(`connection to 127.0.0.1:${String(port)} failed: ${error.message}`));
      });
      socket.once("connect", () => {
        connected++;
        if (connected === count && !failed) {
          clearTimeout(timer);
          resolve(sockets);
        }
      });
    }
  });
}

/**
 * Runs `options.concurrency` connections against `target`. Each connection first sends one
 * request and waits for its answer (untimed: a new connection to a busy server can wait long to
 * be read, which is not what a pool of keep-alive connections sees); once all have answered,
 * the window of `options.durationMs` opens and each connection sends its next request as soon
 * as the previous one is answered. Requests in flight when it closes are answered, checked and
 * counted in `responses` but not in the rate. Rejects with {@link LoadError} on the first
 * non-2xx response, unreadable response, connection error, or when priming or draining
 * outlasts its timeout.
 */
export async function runLoad(
  target: LoadTarget,
  options: LoadOptions,
  firstIndex = 0,
): Promise<LoadResult> {
  const sockets = await openConnections(
    target.port,
    options.concurrency,
    options.connectTimeoutMs ?? 5000,
  );
  const latencies = new Latencies();
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  let nextIndex = firstIndex;
  let responses = 0;
  let completed = 0;
  let primed = 0;
  let finishedConnections = 0;
  // Set when the window opens, after every connection has answered its priming request.
  let windowOpen = false;
  let cpuBefore = cpuUsage();
  let started = 0;
  let deadline = 0;
  const windowMs = options.durationMs;

  return new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      if (error !== undefined) {
        reject(error);
        return;
      }
      const cpu = cpuUsage(cpuBefore);
      const elapsedMs = performance.now() - started;
      resolve({
        completed,
        responses,
        windowMs,
        perSecond: completed / (windowMs / 1000),
        latenciesMs: latencies.toArray(),
        clientCpuPerWall: (cpu.user + cpu.system) / 1000 / elapsedMs,
        nextIndex,
      });
    };
    timer = setTimeout(() => {
      finish(new LoadError(`priming requests unanswered after ${String(drainTimeoutMs)} ms`));
    }, drainTimeoutMs);

    const senders: (() => void)[] = [];
    const openWindow = (): void => {
      clearTimeout(timer);
      windowOpen = true;
      cpuBefore = cpuUsage();
      started = performance.now();
      deadline = started + windowMs;
      timer = setTimeout(() => {
        // The window is closed: no new requests; those in flight must finish in the drain timeout.
        timer = setTimeout(() => {
          const open = sockets.length - finishedConnections;
          finish(
            new LoadError(
              `${String(open)} request(s) still unanswered ${String(drainTimeoutMs)} ms after the window`,
            ),
          );
        }, drainTimeoutMs);
      }, windowMs);
      for (const send of senders) send();
    };

    for (const socket of sockets) {
      let pending: Buffer | undefined;
      let index = 0;
      let sentAt = 0;
      let finished = false;
      const send = (): void => {
        index = nextIndex++;
        sentAt = performance.now();
        socket.write(target.request(index));
      };
      senders.push(send);
      socket.on("error", (error) => {
        finish(new LoadError(`connection error: ${error.message}`));
      });
      socket.on("close", () => {
        if (!finished) finish(new LoadError("the server closed a connection mid-run"));
      });
      socket.on("data", (chunk: Buffer) => {
        if (settled) return;
        const buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
        // One request is outstanding per connection, so a complete buffer holds one response.
        const headerEnd = buffer.indexOf(HEADER_END);
        if (headerEnd < 0) {
          pending = buffer;
          return;
        }
        const head = buffer.toString("latin1", 0, headerEnd);
        const length = CONTENT_LENGTH.exec(head)?.[1];
        if (!head.startsWith(STATUS_PREFIX) || length === undefined || CHUNKED.test(head)) {
          finish(new LoadError(`a response this client cannot read: ${head.slice(0, 200)}`));
          return;
        }
        const bodyStart = headerEnd + HEADER_END.length;
        const bodyEnd = bodyStart + Number(length);
        if (buffer.length < bodyEnd) {
          pending = buffer;
          return;
        }
        pending = undefined;
        const now = performance.now();
        if (buffer.length > bodyEnd) {
          finish(new LoadError("more bytes than one response on a connection (no pipelining)"));
          return;
        }
        const status = Number(head.slice(STATUS_PREFIX.length, STATUS_PREFIX.length + 3));
        const body = buffer.subarray(bodyStart, bodyEnd);
        if (status < 200 || status > 299) {
          const excerpt = body.toString("utf8", 0, Math.min(body.length, 500));
          finish(new LoadError(`HTTP ${String(status)} for request ${String(index)}: ${excerpt}`));
          return;
        }
        if (CLOSE.test(head)) {
          finish(new LoadError("the server asked to close a keep-alive connection"));
          return;
        }
        try {
          target.check(index, status, body);
        } catch (error) {
          finish(error instanceof Error ? error : new LoadError(String(error)));
          return;
        }
        responses++;
        if (!windowOpen) {
          primed++;
          if (primed === sockets.length) openWindow();
          return;
        }
        // Every request was sent inside the window, so every latency counts: leaving out those
        // that straddle its end would leave out the slow ones more often than the fast ones.
        latencies.push(now - sentAt);
        if (now <= deadline) {
          completed++;
          send();
        } else {
          finished = true;
          finishedConnections++;
          if (finishedConnections === sockets.length) finish();
        }
      });
    }
    for (const send of senders) send();
  });
}
