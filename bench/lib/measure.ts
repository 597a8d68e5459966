import { cpuUsage, hrtime } from "node:process";

/** How long to warm up and measure one subject. */
export interface MeasureOptions {
  /** Wall time spent running the subject before any round is timed (JIT tiering, ICs, GC). */
  readonly warmupMs: number;
  /** Wall time of one timed round. */
  readonly roundMs: number;
  /** Number of timed rounds; the median round is reported. */
  readonly rounds: number;
}

/** The default: 1 s warm-up, then the median of five 2 s rounds (about 11 s per subject). */
export const FULL_MEASURE: MeasureOptions = { warmupMs: 1000, roundMs: 2000, rounds: 5 };

/** For a smoke run (`--quick`): figures are noisier and must not be quoted. */
export const QUICK_MEASURE: MeasureOptions = { warmupMs: 200, roundMs: 300, rounds: 3 };

/**
 * Work to measure: performs `count` operations and returns a number derived from their results
 * (a count of outcomes, say), so that the work cannot be optimised away.
 */
export type Batch = (count: number) => number;

/** The result of {@link measureThroughput}. */
export interface Throughput {
  /** Median of the rounds, operations per second. */
  readonly perSecond: number;
  /** Each round's operations per second, in the order run. */
  readonly rounds: readonly number[];
  /** (slowest − fastest round) / median: how far to trust the median. */
  readonly spread: number;
  /** Operations per batch, calibrated during warm-up. */
  readonly batchSize: number;
  /**
   * Process CPU time over wall time during the timed rounds. About 1 when one core did the work;
   * above 1 when V8's helper threads (concurrent GC) ran beside the main thread.
   */
  readonly cpuPerWall: number;
}

/** A batch should take at least this long, so reading the clock costs nothing measurable. */
const MIN_BATCH_NS = 5_000_000n;
const MAX_BATCH_SIZE = 1 << 24;

let sink = 0;

/** How long {@link settleHeap} leaves the event loop idle. */
const SETTLE_MS = 250;

/**
 * Leaves the event loop idle for a moment, so that V8 finishes on its own tasks the garbage
 * collection that a section's set-up started, before the first measured call. V8 runs the steps
 * of an incremental marking as tasks on the event loop; a synchronous set-up followed at once by
 * the subject would run the subject's first calls inside that marking (see `engine` in
 * bench/README.md for what that does to a process).
 */
export function settleHeap(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

/**
 * What every batch returned, folded together. Reading it keeps the results observable, so the
 * JIT cannot drop the measured work.
 */
export function measuredSink(): number {
  return sink;
}

const nanos = (ms: number): bigint => BigInt(Math.round(ms * 1e6));

/**
 * Measures the throughput of `batch` on the current thread: runs it for `warmupMs` while
 * doubling the batch size until one batch takes at least 5 ms, then runs `rounds` rounds of at
 * least `roundMs` each and reports the median rate. Time comes from `process.hrtime.bigint()`.
 */
export function measureThroughput(batch: Batch, options: MeasureOptions): Throughput {
  let size = 1;
  const warmupEnd = hrtime.bigint() + nanos(options.warmupMs);
  for (;;) {
    const started = hrtime.bigint();
    sink = (sink + batch(size)) | 0;
    const ended = hrtime.bigint();
    if (ended - started < MIN_BATCH_NS && size < MAX_BATCH_SIZE) size *= 2;
    if (ended >= warmupEnd) break;
  }

  const rates: number[] = [];
  let cpuMicros = 0;
  let wallNs = 0n;
  for (let round = 0; round < options.rounds; round++) {
    let operations = 0;
    const cpuBefore = cpuUsage();
    const started = hrtime.bigint();
    const deadline = started + nanos(options.roundMs);
    let now = started;
    do {
      sink = (sink + batch(size)) | 0;
      operations += size;
      now = hrtime.bigint();
    } while (now < deadline);
    const cpu = cpuUsage(cpuBefore);
    cpuMicros += cpu.user + cpu.system;
    wallNs += now - started;
    rates.push(operations / (Number(now - started) / 1e9));
  }

  const sorted = [...rates].sort((a, b) => a - b);
  const median = medianOf(sorted);
  const spread = ((sorted.at(-1) ?? 0) - (sorted[0] ?? 0)) / median;
  return {
    perSecond: median,
    rounds: rates,
    spread,
    batchSize: size,
    cpuPerWall: (cpuMicros * 1000) / Number(wallNs),
  };
}

function medianOf(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}
