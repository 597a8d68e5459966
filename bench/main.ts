import { cpus } from "node:os";
import process from "node:process";
import { USAGE, UsageError, parseArgs, type BenchArgs } from "./lib/args.js";
import { FULL_MEASURE, QUICK_MEASURE, measuredSink, type MeasureOptions } from "./lib/measure.js";
import { toJson, toTable, type SectionReport } from "./lib/report.js";
import type { Section } from "./lib/section.js";
import { SECTIONS } from "./sections/index.js";

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The sections `--only` names, in registry order; every section when it names none. */
function selectSections(only: readonly string[]): Section[] {
  if (only.length === 0) return [...SECTIONS];
  const known = new Set(SECTIONS.map((s) => s.name));
  const unknown = only.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown section ${unknown.map((n) => JSON.stringify(n)).join(", ")}; ` +
        `known sections: ${[...known].join(", ")}`,
    );
  }
  return SECTIONS.filter((s) => only.includes(s.name));
}

function describeRun(measure: MeasureOptions): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const rounds = `${String(measure.rounds)} × ${String(measure.roundMs / 1000)} s rounds`;
  return [
    `tenant-mfa bench · Node.js ${process.version} · ${process.platform} ${process.arch} · ${cpu}`,
    `each measurement: ${String(measure.warmupMs / 1000)} s warm-up, then the median of ${rounds}, one thread`,
  ].join("\n");
}

async function run(args: BenchArgs): Promise<number> {
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.list) {
    for (const s of SECTIONS) process.stdout.write(`${s.name}\t${s.title}\n`);
    return 0;
  }
  const sections = selectSections(args.only);
  const measure = args.quick ? QUICK_MEASURE : FULL_MEASURE;
  if (args.quick) log("--quick: short rounds, the figures are a smoke test only");

  const reports: SectionReport[] = [];
  for (const section of sections) {
    log(`[${section.name}] ${section.title}`);
    const started = performance.now();
    const result = await section.run({
      measure,
      log: (line) => {
        log(`[${section.name}] ${line}`);
      },
    });
    log(`[${section.name}] done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    reports.push({ section, result });
  }

  if (args.json) {
    // Notes are for people; in JSON mode they go to stderr so stdout stays one JSON object.
    for (const { section, result } of reports) {
      for (const note of result.notes) log(`[${section.name}] ${note}`);
    }
    process.stdout.write(`${JSON.stringify(toJson(reports))}\n`);
  } else {
    process.stdout.write(`\n${describeRun(measure)}\n\n${toTable(reports)}`);
  }
  // Keeps every measured result observable to the end of the run.
  if (Number.isNaN(measuredSink())) log("unreachable: the sink is never NaN");
  return 0;
}

async function main(): Promise<number> {
  try {
    return await run(parseArgs(process.argv.slice(2)));
  } catch (error) {
    if (error instanceof UsageError) {
      log(`bench: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
