import type { Figure } from "../../lib/section.js";
import { profiled } from "../../lib/profile.js";
import { closedLoop, median, percentile, synchronousLoop, type LoopRound } from "./closed-loop.js";

/** Sign-ins (and bare verifications) in flight at once, as the issue asks. */
export const CONCURRENCY = 64;
/** Timed rounds after the warm-up round; the median is reported. */
export const ROUNDS = 3;

/** What {@link fullBesideBare} measured. */
export interface Comparison {
  readonly full: readonly LoopRound[];
  readonly bare: readonly LoopRound[];
  readonly fullPerSecond: number;
  readonly barePerSecond: number;
}

/**
 * One untimed warm-up round of each, then {@link ROUNDS} rounds of each, full and bare
 * interleaved so that a change in the machine's load hits both; every full round is a closed
 * loop of {@link CONCURRENCY} in flight, and so is every bare one unless `bare` is
 * `{ synchronous }`: a call that never waits, run back to back (`synchronousLoop`). Operation
 * indexes run on across rounds (0 … rounds × count − 1).
 */
export async function fullBesideBare(options: {
  readonly fullPerRound: number;
  readonly barePerRound: number;
  readonly full: (index: number) => Promise<unknown>;
  /**
   * Runs before each full round, untimed, with the indexes the round will use (`first` …
   * `first + count − 1`): to prepare what its operations consume.
   */
  readonly prepareFull?: (first: number, count: number) => Promise<void>;
  readonly bare:
    ((index: number) => Promise<unknown>) | { readonly synchronous: (index: number) => void };
  readonly log: (line: string) => void;
}): Promise<Comparison> {
  let fullIndex = 0;
  let bareIndex = 0;
  const fullRound = async (): Promise<LoopRound> => {
    const offset = fullIndex;
    fullIndex += options.fullPerRound;
    await options.prepareFull?.(offset, options.fullPerRound);
    return profiled("full", () =>
      closedLoop(options.fullPerRound, CONCURRENCY, (i) => options.full(offset + i)),
    );
  };
  const { bare: bareOperation } = options;
  const bareRound = async (): Promise<LoopRound> => {
    const offset = bareIndex;
    bareIndex += options.barePerRound;
    if (typeof bareOperation !== "function") {
      const { synchronous } = bareOperation;
      return synchronousLoop(options.barePerRound, (i) => {
        synchronous(offset + i);
      });
    }
    return closedLoop(options.barePerRound, CONCURRENCY, (i) => bareOperation(offset + i));
  };
  const warmFull = await fullRound();
  const warmBare = await bareRound();
  options.log(
    `warm-up: full ${warmFull.perSecond.toFixed(0)}/s, bare ${warmBare.perSecond.toFixed(0)}/s`,
  );
  const full: LoopRound[] = [];
  const bare: LoopRound[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    full.push(await fullRound());
    bare.push(await bareRound());
    options.log(
      `round ${String(round)}/${String(ROUNDS)}: full ${(full.at(-1)?.perSecond ?? 0).toFixed(0)}/s, ` +
        `bare ${(bare.at(-1)?.perSecond ?? 0).toFixed(0)}/s`,
    );
  }
  return {
    full,
    bare,
    fullPerSecond: median(full.map((r) => r.perSecond)),
    barePerSecond: median(bare.map((r) => r.perSecond)),
  };
}

/**
 * The figures the sections that compare a full path with a bare call report: full and bare
 * rates, their ratio held to `targetRatio` (with `ratioDecimals` digits), and the full path's p50
 * and p99 latency.
 */
export function comparisonFigures(
  result: Comparison,
  labels: { readonly full: string; readonly bare: string; readonly bareUnit: string },
  targetRatio: number,
  ratioDecimals = 2,
): Figure[] {
  return [
    { key: "full_per_s", label: labels.full, value: result.fullPerSecond, unit: "sign-ins/s" },
    { key: "bare_per_s", label: labels.bare, value: result.barePerSecond, unit: labels.bareUnit },
    {
      key: "ratio_vs_bare",
      label: "full_per_s / bare_per_s",
      value: result.fullPerSecond / result.barePerSecond,
      unit: "×",
      decimals: ratioDecimals,
      target: { min: targetRatio },
    },
    {
      key: "p50_ms",
      label: "full sign-in latency, median (64 in flight: mostly queueing)",
      value: percentile(result.full, 50),
      unit: "ms",
      decimals: 1,
    },
    {
      key: "p99_ms",
      label: "full sign-in latency, 99th percentile",
      value: percentile(result.full, 99),
      unit: "ms",
      decimals: 1,
    },
  ];
}
