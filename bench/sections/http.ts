import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Figure, Section, SectionContext, SectionResult } from "../lib/section.js";
import { decisionTarget } from "./http/decision-target.js";
import { HostProcess, stopAll } from "./http/host-process.js";
import { LoadError } from "./http/load.js";
import { decisionCases, postRequest } from "./http/mix.js";
import {
  describeRounds,
  httpMeasure,
  loadNote,
  measureSubjects,
  percentile,
  type Subject,
} from "./http/rounds.js";
import { verifyStore, type SampledDecision } from "./http/verify.js";

/** The issue's target: the decision API at half the rate of a bare Fastify route, or better. */
const TARGET_RATIO_VS_BARE = 0.5;

/** The demo's tenant and principal (`serve --demo`): acme is platform_mfa, alice is `direct`. */
const TENANT = "acme";
const PRINCIPAL = "alice";

async function run({ measure, log }: SectionContext): Promise<SectionResult> {
  const options = httpMeasure(measure);
  const notes: string[] = [loadNote("at the start")];
  const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-bench-http-"));
  const dbPath = join(dir, "tenant-mfa.db");
  const logPath = join(dir, "server.log");
  let app: HostProcess | undefined;
  let bare: HostProcess | undefined;
  try {
    log(`starting the server (SQLite file in ${dir}, demo data) and a bare Fastify server`);
    [app, bare] = await Promise.all([
      HostProcess.start(
        "tenant-mfa",
        { kind: "app", dbPath, seed: { kind: "demo" } },
        { logFile: logPath, timeoutMs: 60_000 },
      ),
      HostProcess.start("bare Fastify", { kind: "bare" }, { timeoutMs: 60_000 }),
    ]);
    const keys = app.keys;
    if (keys === undefined) throw new Error("the application server returned no API keys");

    const cases = decisionCases(PRINCIPAL, new Date());
    const samples: SampledDecision[] = [];
    const outcomes = new Map<string, number>();
    const decisions: Subject = {
      name: "decisions",
      host: app,
      target: decisionTarget({
        port: app.port,
        cases,
        path: () => `/v1/tenants/${TENANT}/decisions`,
        secret: keys.service,
        samples,
        outcomes,
      }),
    };
    const barePort = bare.port;
    const bareRequests = cases.map((c) => postRequest(barePort, "/echo", keys.service, c.body));
    const bareTarget: Subject = {
      name: "bare",
      host: bare,
      target: {
        port: barePort,
        request: (index) => bareRequests[index % bareRequests.length] as Buffer,
        check(index, status, body) {
          const sent = cases[index % cases.length]?.body ?? "";
          if (status !== 200 || body.toString("utf8") !== sent) {
            throw new LoadError(
              `bare request ${String(index)}: HTTP ${String(status)}, not an echo`,
            );
          }
        },
      },
    };

    const [decided, echoed] = await measureSubjects([decisions, bareTarget], options, log);
    if (decided === undefined || echoed === undefined) throw new Error("no results");
    notes.push(loadNote("at the end of the rounds"));

    log("stopping the servers (the application one with SIGKILL) and checking the store");
    await bare.close();
    await app.kill();
    const logBytes = statSync(logPath).size;
    const verification = await verifyStore({
      dbPath,
      adminSecret: keys.admin,
      decisions: decided.responses,
      samples,
    });

    const ratio = decided.perSecond / echoed.perSecond;
    const figures: Figure[] = [
      {
        key: "decisions_per_s",
        label: "POST /v1/tenants/acme/decisions over HTTP, receipt + audit event committed",
        value: decided.perSecond,
        unit: "requests/s",
      },
      {
        key: "bare_per_s",
        label: "bare Fastify route echoing the same bodies, same client",
        value: echoed.perSecond,
        unit: "requests/s",
      },
      {
        key: "ratio_vs_bare",
        label: "decisions_per_s / bare_per_s",
        value: ratio,
        unit: "×",
        decimals: 2,
        target: { min: TARGET_RATIO_VS_BARE },
      },
      {
        key: "p50_ms",
        label: `decision latency, median, ${String(options.concurrency)} in flight`,
        value: percentile(decided.latenciesMs, 50),
        unit: "ms",
        decimals: 2,
      },
      {
        key: "p99_ms",
        label: `decision latency, 99th percentile, ${String(options.concurrency)} in flight`,
        value: percentile(decided.latenciesMs, 99),
        unit: "ms",
        decimals: 2,
      },
      {
        key: "bare_p50_ms",
        label: "bare route latency, median",
        value: percentile(echoed.latenciesMs, 50),
        unit: "ms",
        decimals: 2,
      },
      {
        key: "bare_p99_ms",
        label: "bare route latency, 99th percentile",
        value: percentile(echoed.latenciesMs, 99),
        unit: "ms",
        decimals: 2,
      },
    ];
    const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
    notes.push(
      `servers: each in its own child process; tenant-mfa through startServer() with the ` +
        `configuration's defaults (log level info, to a file: ${(logBytes / 1e6).toFixed(1)} MB ` +
        `written) over a SQLite file (WAL, synchronous=NORMAL) seeded with the demo data; bare: ` +
        `Fastify() with its defaults (no logger) and one route, POST /echo`,
      `client: this process, ${String(options.concurrency)} keep-alive connections with one request ` +
        `in flight each (a minimal HTTP/1.1 client over node:net), primed with one untimed request ` +
        `each round; ` +
        `${String(options.warmupMs / 1000)} s warm-up each, then ${String(options.rounds)} × ` +
        `${String(options.roundMs / 1000)} s rounds, decisions and bare interleaved; rates are ` +
        `medians of the rounds, latencies pooled over the rounds (closed loop: p50 ≈ in flight / rate)`,
      `mix (${cases.map((c) => `${c.label} → ${c.expected}`).join("; ")}) as principal ` +
        `${TENANT}/${PRINCIPAL}; outcomes of the ${total.toLocaleString("en-US")} decisions: ` +
        [...outcomes.entries()].map(([o, n]) => `${o} ${n.toLocaleString("en-US")}`).join(", ") +
        "; every one checked: 201 with the outcome its case expects",
      describeRounds(decided),
      describeRounds(echoed),
      verification.summary,
    );
    return { figures, notes };
  } finally {
    await stopAll([app, bare]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The decision API over real HTTP against a bare Fastify route, with receipts committed. */
export const httpSection: Section = {
  name: "http",
  title: "decision API over HTTP (SQLite file) vs a bare Fastify route, requests/s and latency",
  run,
};
