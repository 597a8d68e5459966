import { cpuUsage, hrtime } from "node:process";

/** What one closed-loop round measured. */
export interface LoopRound {
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Process CPU time over wall time: about 1 when the main thread was busy throughout. */
  readonly cpuPerWall: number;
  /** Each operation's latency in milliseconds, in completion order. */
  readonly latenciesMs: Float64Array;
}

/**
 * Runs `count` asynchronous operations with `concurrency` in flight (closed loop: each worker
 * starts its next operation when its previous one settles) and times the whole round with
 * `process.hrtime.bigint()`. Operation `index` runs `operation(index)`; a rejection aborts the
 * round with that error.
 */
export async function closedLoop(
  count: number,
  concurrency: number,
  operation: (index: number) => Promise<unknown>,
): Promise<LoopRound> {
  const latencies = new Float64Array(count);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= count) return;
      const began = hrtime.bigint();
      await operation(index);
      latencies[done++] = Number(hrtime.bigint() - began) / 1e6;
    }
  };
  const cpuBefore = cpuUsage();
  const started = hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = Number(hrtime.bigint() - started) / 1e9;
  const cpu = cpuUsage(cpuBefore);
  return {
    operations: count,
    seconds,
    perSecond: count / seconds,
    cpuPerWall: (cpu.user + cpu.system) / 1e6 / seconds,
    latenciesMs: latencies,
  };
}

/**
 * Runs `count` synchronous operations one after the other on this thread and times them
 * together: for a library call that never waits, where a closed loop of promises would time
 * the promises as well. Operation `index` runs `operation(index)`; a throw aborts the round.
 * No latencies are kept (each operation takes microseconds; the rate says it all).
 */
export function synchronousLoop(count: number, operation: (index: number) => void): LoopRound {
  const cpuBefore = cpuUsage();
  const started = hrtime.bigint();
  for (let index = 0; index < count; index++) operation(index);
  const seconds = Number(hrtime.bigint() - started) / 1e9;
  const cpu = cpuUsage(cpuBefore);
  return {
    operations: count,
    seconds,
    perSecond: count / seconds,
    cpuPerWall: (cpu.user + cpu.system) / 1e6 / seconds,
    latenciesMs: new Float64Array(0),
  };
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/** Nearest-rank percentile `p` (0–100) of the latencies of several rounds together. */
export function percentile(rounds: readonly LoopRound[], p: number): number {
  const all = Float64Array.from(rounds.flatMap((round) => [...round.latenciesMs]));
  all.sort();
  if (all.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * all.length));
  return all[rank - 1] ?? Number.NaN;
}

/** `1,234` for a rate. */
export const rate = (value: number): string => Math.round(value).toLocaleString("en-US");

/** One line for the notes: each round's rate, their spread, and CPU over wall time. */
export function describeRounds(name: string, rounds: readonly LoopRound[], unit: string): string {
  const rates = rounds.map((round) => round.perSecond);
  const middle = median(rates);
  const spread = (Math.max(...rates) - Math.min(...rates)) / middle;
  const cpu = rounds.map((round) => round.cpuPerWall.toFixed(2)).join(", ");
  return (
    `${name} rounds (${unit}): ${rates.map(rate).join(", ")}; spread ${(100 * spread).toFixed(1)}%; ` +
    `${String(rounds[0]?.operations ?? 0)} per round; CPU/wall ${cpu}`
  );
}

/** How many operations a round gets: `full` in a full run, scaled down with `--quick`. */
export function scaledCount(full: number, roundMs: number, fullRoundMs: number): number {
  return Math.max(64, Math.round((full * Math.min(roundMs, fullRoundMs)) / fullRoundMs));
}
