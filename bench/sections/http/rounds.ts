import { availableParallelism, loadavg } from "node:os";
import type { MeasureOptions } from "../../lib/measure.js";
import type { HostProcess } from "./host-process.js";
import { runLoad, type LoadTarget } from "./load.js";

/** Requests in flight against each server: one per keep-alive connection. */
export const CONCURRENCY = 64;

/** A server under load: its process and what to send it. */
export interface Subject {
  readonly name: string;
  readonly host: HostProcess;
  readonly target: LoadTarget;
}

/** What the timed rounds of one subject measured. */
export interface SubjectResult {
  readonly name: string;
  /** 2xx responses per second of each timed round, in the order run. */
  readonly rates: readonly number[];
  /** Median of `rates`. */
  readonly perSecond: number;
  /** (fastest − slowest round) / median. */
  readonly spread: number;
  /** Every timed round's latencies together, sorted, ms. */
  readonly latenciesMs: Float64Array;
  /** Server process CPU time over wall time, per timed round (1 = one core busy). */
  readonly serverCpuPerWall: readonly number[];
  /** Server event-loop utilisation per timed round (1 = never idle). */
  readonly serverElu: readonly number[];
  /** Load generator CPU time over wall time, per timed round. */
  readonly clientCpuPerWall: readonly number[];
  /** 2xx responses in all, warm-up and drains included: every request the server answered. */
  readonly responses: number;
}

/** How the HTTP sections warm up and time their subjects, from the harness's options. */
export interface HttpMeasure {
  readonly warmupMs: number;
  readonly roundMs: number;
  readonly rounds: number;
  readonly concurrency: number;
}

/**
 * The harness's rounds, with a longer warm-up: a server has more to warm than a function (JIT of
 * the whole request path, SQLite's page cache, the rules cache). 3 s, or 0.6 s with --quick.
 */
export function httpMeasure(measure: MeasureOptions): HttpMeasure {
  return {
    warmupMs: 3 * measure.warmupMs,
    roundMs: measure.roundMs,
    rounds: measure.rounds,
    concurrency: CONCURRENCY,
  };
}

const median = (sorted: readonly number[]): number => {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
};

/** The nearest-rank percentile `p` (0–100) of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1] ?? Number.NaN;
}

/**
 * Warms each subject up, then times `rounds` rounds of each, interleaved (A, B, A, B, …) so that
 * a change in the machine's load hits every subject alike. Only one subject is loaded at a time.
 */
export async function measureSubjects(
  subjects: readonly Subject[],
  options: HttpMeasure,
  log: (line: string) => void,
): Promise<SubjectResult[]> {
  const state = subjects.map((subject) => ({
    subject,
    nextIndex: 0,
    responses: 0,
    rates: [] as number[],
    latencies: [] as Float64Array[],
    serverCpu: [] as number[],
    serverElu: [] as number[],
    clientCpu: [] as number[],
  }));
  const load = { concurrency: options.concurrency };

  for (const s of state) {
    log(`warming up ${s.subject.name} for ${String(options.warmupMs / 1000)} s`);
    const warm = await runLoad(
      s.subject.target,
      { ...load, durationMs: options.warmupMs },
      s.nextIndex,
    );
    s.nextIndex = warm.nextIndex;
    s.responses += warm.responses;
  }

  for (let round = 0; round < options.rounds; round++) {
    for (const s of state) {
      const before = await s.subject.host.stats();
      const wallBefore = performance.now();
      const result = await runLoad(
        s.subject.target,
        { ...load, durationMs: options.roundMs },
        s.nextIndex,
      );
      const wallMs = performance.now() - wallBefore;
      const after = await s.subject.host.stats();
      s.nextIndex = result.nextIndex;
      s.responses += result.responses;
      s.rates.push(result.perSecond);
      s.latencies.push(result.latenciesMs);
      s.serverCpu.push((after.cpuMicros - before.cpuMicros) / 1000 / wallMs);
      const active = after.eluActiveMs - before.eluActiveMs;
      s.serverElu.push(active / (active + after.eluIdleMs - before.eluIdleMs));
      s.clientCpu.push(result.clientCpuPerWall);
    }
    log(
      `round ${String(round + 1)}/${String(options.rounds)}: ` +
        state
          .map(
            (s) => `${s.subject.name} ${Math.round(s.rates.at(-1) ?? 0).toLocaleString("en-US")}/s`,
          )
          .join(", ") +
        ` (load average ${loadavg()[0]?.toFixed(2) ?? "?"})`,
    );
  }

  return state.map((s) => {
    const sortedRates = [...s.rates].sort((a, b) => a - b);
    const perSecond = median(sortedRates);
    const total = s.latencies.reduce((sum, l) => sum + l.length, 0);
    const latenciesMs = new Float64Array(total);
    let offset = 0;
    for (const l of s.latencies) {
      latenciesMs.set(l, offset);
      offset += l.length;
    }
    latenciesMs.sort();
    return {
      name: s.subject.name,
      rates: s.rates,
      perSecond,
      spread: ((sortedRates.at(-1) ?? 0) - (sortedRates[0] ?? 0)) / perSecond,
      latenciesMs,
      serverCpuPerWall: s.serverCpu,
      serverElu: s.serverElu,
      clientCpuPerWall: s.clientCpu,
      responses: s.responses,
    };
  });
}

/** A short line about a subject's rounds, for the notes. */
export function describeRounds(result: SubjectResult): string {
  const list = (values: readonly number[], digits: number): string =>
    values.map((v) => v.toFixed(digits)).join(", ");
  return (
    `${result.name}: rounds ${result.rates.map((r) => Math.round(r).toLocaleString("en-US")).join(", ")} /s ` +
    `(spread ${(100 * result.spread).toFixed(1)}%); p50 ${percentile(result.latenciesMs, 50).toFixed(2)} ms, ` +
    `p90 ${percentile(result.latenciesMs, 90).toFixed(2)} ms, p99 ${percentile(result.latenciesMs, 99).toFixed(2)} ms, ` +
    `p99.9 ${percentile(result.latenciesMs, 99.9).toFixed(2)} ms, ` +
    `max ${percentile(result.latenciesMs, 100).toFixed(2)} ms over ${result.latenciesMs.length.toLocaleString("en-US")} responses; ` +
    `server CPU/wall ${list(result.serverCpuPerWall, 2)}, event loop busy ${list(result.serverElu, 2)}; ` +
    `client CPU/wall ${list(result.clientCpuPerWall, 2)}`
  );
}

/** The load average now, for the notes. */
export const loadNote = (label: string): string => {
  const cores = String(availableParallelism());
  const averages = loadavg()
    .map((v) => v.toFixed(2))
    .join(", ");
  return `load average ${label}: ${averages} (${cores} cores: above ${cores} means work waited for a core)`;
};
