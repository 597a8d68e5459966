import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Figure, Section, SectionContext, SectionResult } from "../lib/section.js";
import { decisionTarget } from "./http/decision-target.js";
import { HostProcess, stopAll } from "./http/host-process.js";
import { decisionCases } from "./http/mix.js";
import { SEEDED_PRINCIPAL, tenantId } from "./http/protocol.js";
import {
  describeRounds,
  httpMeasure,
  loadNote,
  measureSubjects,
  percentile,
  type Subject,
  type SubjectResult,
} from "./http/rounds.js";
import { verifyStore, type SampledDecision } from "./http/verify.js";

/** The target: decision latency flat within 20% from 10 to 100,000 tenants. */
const TARGET_P50_RATIO = { min: 0.8, max: 1.2 };

const SMALL = 10;
const LARGE = 100_000;
/** Tenants written per store transaction while seeding. */
const SEED_BATCH = 2000;
/** Seeding 100,000 tenants should take well under a minute; this only stops a runaway. */
const START_TIMEOUT_MS = 300_000;

/** A small, seeded generator (mulberry32): the same tenant sequence on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Fleet {
  readonly tenants: number;
  readonly dir: string;
  readonly dbPath: string;
  host?: HostProcess;
  readonly samples: SampledDecision[];
  readonly outcomes: Map<string, number>;
}

async function run({ measure, log }: SectionContext): Promise<SectionResult> {
  const options = httpMeasure(measure);
  const notes: string[] = [loadNote("at the start")];
  const fleets: Fleet[] = [SMALL, LARGE].map((tenants) => {
    const dir = mkdtempSync(join(tmpdir(), `tenant-mfa-bench-scale-${String(tenants)}-`));
    return {
      tenants,
      dir,
      dbPath: join(dir, "tenant-mfa.db"),
      samples: [],
      outcomes: new Map<string, number>(),
    };
  });
  try {
    // One after the other, so that the large seeding has the machine to itself and its time
    // means something.
    for (const fleet of fleets) {
      log(`starting a server over ${fleet.tenants.toLocaleString("en-US")} tenants (${fleet.dir})`);
      fleet.host = await HostProcess.start(
        `${String(fleet.tenants)} tenants`,
        {
          kind: "app",
          dbPath: fleet.dbPath,
          seed: { kind: "tenants", count: fleet.tenants, batch: SEED_BATCH },
        },
        { logFile: join(fleet.dir, "server.log"), timeoutMs: START_TIMEOUT_MS },
      );
      log(
        `  seeded in ${(fleet.host.seedMs / 1000).toFixed(1)} s, listening after ` +
          `${(fleet.host.startMs / 1000).toFixed(1)} s`,
      );
    }

    const cases = decisionCases(SEEDED_PRINCIPAL, new Date());
    const subjects: Subject[] = fleets.map((fleet) => {
      const host = fleet.host;
      if (host?.keys === undefined) throw new Error("a server returned no API keys");
      // Each request goes to a tenant drawn uniformly from those that exist (seeded draws).
      const random = seededRandom(0x5eed);
      return {
        name: `${fleet.tenants.toLocaleString("en-US")} tenants`,
        host,
        target: decisionTarget({
          port: host.port,
          cases,
          path: () => `/v1/tenants/${tenantId(Math.floor(random() * fleet.tenants))}/decisions`,
          secret: host.keys.service,
          samples: fleet.samples,
          outcomes: fleet.outcomes,
        }),
      };
    });

    const results = await measureSubjects(subjects, options, log);
    notes.push(loadNote("at the end of the rounds"));
    const [small, large] = results as [SubjectResult, SubjectResult];

    log("stopping the servers with SIGKILL and checking their stores");
    const verifications: string[] = [];
    for (const [k, fleet] of fleets.entries()) {
      await fleet.host?.kill();
      const result = results[k];
      const keys = fleet.host?.keys;
      if (result === undefined || keys === undefined) throw new Error("no result");
      const verification = await verifyStore({
        dbPath: fleet.dbPath,
        adminSecret: keys.admin,
        decisions: result.responses,
        samples: fleet.samples,
      });
      verifications.push(`${result.name}: ${verification.summary}`);
    }

    const p50Small = percentile(small.latenciesMs, 50);
    const p50Large = percentile(large.latenciesMs, 50);
    const largeHost = fleets[1]?.host;
    const figures: Figure[] = [
      {
        key: "p50_ratio_100k_vs_10",
        label: "median decision latency at 100,000 tenants / at 10 tenants",
        value: p50Large / p50Small,
        unit: "×",
        decimals: 2,
        target: TARGET_P50_RATIO,
      },
      {
        key: "p50_ms_10",
        label: "median decision latency, 10 tenants",
        value: p50Small,
        unit: "ms",
        decimals: 2,
      },
      {
        key: "p50_ms_100k",
        label: "median decision latency, 100,000 tenants",
        value: p50Large,
        unit: "ms",
        decimals: 2,
      },
      {
        key: "p99_ms_10",
        label: "99th percentile decision latency, 10 tenants",
        value: percentile(small.latenciesMs, 99),
        unit: "ms",
        decimals: 2,
      },
      {
        key: "p99_ms_100k",
        label: "99th percentile decision latency, 100,000 tenants",
        value: percentile(large.latenciesMs, 99),
        unit: "ms",
        decimals: 2,
      },
      {
        key: "decisions_per_s_10",
        label: "decisions per second, 10 tenants",
        value: small.perSecond,
        unit: "requests/s",
      },
      {
        key: "decisions_per_s_100k",
        label: "decisions per second, 100,000 tenants",
        value: large.perSecond,
        unit: "requests/s",
      },
      {
        key: "seed_s_100k",
        label: "writing the 100,000 tenants (rows and audit events)",
        value: (largeHost?.seedMs ?? Number.NaN) / 1000,
        unit: "s",
        decimals: 1,
      },
    ];
    const outcomeLine = (fleet: Fleet): string =>
      [...fleet.outcomes.entries()].map(([o, n]) => `${o} ${n.toLocaleString("en-US")}`).join(", ");
    notes.push(
      `fleets seeded alike, ${String(SMALL)} and ${LARGE.toLocaleString("en-US")} tenants: ` +
        `${largeHost?.seeded ?? ""}; one platform_service key reaching all tenants`,
      `each request goes to a tenant drawn uniformly at random (seeded) from the fleet, as ` +
        `${SEEDED_PRINCIPAL} with the http section's mix; ${String(options.concurrency)} in flight, ` +
        `${String(options.warmupMs / 1000)} s warm-up each, then ${String(options.rounds)} × ` +
        `${String(options.roundMs / 1000)} s rounds, the two fleets interleaved`,
      `outcomes: 10 tenants ${outcomeLine(fleets[0] as Fleet)}; 100,000 tenants ${outcomeLine(fleets[1] as Fleet)}`,
      `setup: 10 tenants listening after ${((fleets[0]?.host?.startMs ?? 0) / 1000).toFixed(1)} s; ` +
        `100,000 tenants seeded in ${((largeHost?.seedMs ?? 0) / 1000).toFixed(1)} s, listening after ` +
        `${((largeHost?.startMs ?? 0) / 1000).toFixed(1)} s`,
      "closed loop: with a fixed number in flight the median latency moves mostly with the " +
        "rate, so the ratio roughly mirrors the throughput ratio",
      describeRounds(small),
      describeRounds(large),
      ...verifications,
    );
    return { figures, notes };
  } finally {
    await stopAll(fleets.map((fleet) => fleet.host));
    for (const fleet of fleets) rmSync(fleet.dir, { recursive: true, force: true });
  }
}

/** Decision latency over HTTP with 10 tenants against 100,000 tenants in the store. */
export const scaleSection: Section = {
  name: "scale",
  title: "decision latency over HTTP at 10 vs 100,000 tenants (SQLite file)",
  run,
};
