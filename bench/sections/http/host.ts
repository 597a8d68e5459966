/**
 * A server for the HTTP benchmarks, run in a child process (`host-process.ts` forks it) so that
 * it has its own event loop, apart from the load generator. The parent sends `start`, then
 * `stats` around each measured round and `close` at the end; when the parent goes away, so
 * does this process. Standard output (the server's pino log) goes wherever the parent points it.
 */
import { performance } from "node:perf_hooks";
import process from "node:process";
import Fastify from "fastify";
import { nextProfileSegment } from "../../lib/profile.js";
import type { Context } from "../../../src/app/context.js";
import { DEFAULT_SETTINGS, recordAudit } from "../../../src/app/context.js";
import type { Repositories } from "../../../src/app/ports.js";
import { prepareDemo } from "../../../src/cli/seed-demo.js";
import { loadConfig } from "../../../src/config/load-config.js";
import {
  cryptoRandom,
  startServer,
  systemClock,
  type OpenedApplication,
} from "../../../src/main.js";
import {
  SEEDED_PRINCIPAL,
  tenantId,
  type HostKeys,
  type HostReply,
  type HostRequest,
  type HostSpec,
  type SeedSpec,
} from "./protocol.js";

const reply = (message: HostReply): void => {
  process.send?.(message);
};

interface Started {
  readonly port: number;
  readonly keys?: HostKeys;
  readonly seedMs: number;
  readonly seeded: string;
  close(): Promise<void>;
}

async function startBare(): Promise<Started> {
  // Fastify's defaults (no logger); the one route answers with the JSON body it was sent.
  const server = Fastify();
  server.post("/echo", (request) => request.body);
  await server.listen({ port: 0, host: "127.0.0.1" });
  const address = server.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { port: address.port, seedMs: 0, seeded: "", close: () => server.close() };
}

async function startApp(dbPath: string, seed: SeedSpec): Promise<Started> {
  // The configuration's defaults (log level info, body limit, exemption limits) over a file
  // store; port 0 lets the operating system pick a free port, as the serve tests do.
  const config = { ...loadConfig({ env: {}, overrides: { db: `sqlite:${dbPath}` } }), port: 0 };
  let keys: HostKeys | undefined;
  let seedMs = 0;
  let seeded = "";
  const running = await startServer(config, {
    handleSignals: false,
    seed: async (opened) => {
      const started = performance.now();
      ({ keys, seeded } =
        seed.kind === "demo" ? await seedDemo(opened) : await seedTenants(opened, seed));
      seedMs = performance.now() - started;
    },
  });
  const port = Number(new URL(running.url).port);
  return {
    port,
    ...(keys === undefined ? {} : { keys }),
    seedMs,
    seeded,
    close: () => running.close(),
  };
}

async function seedDemo(opened: OpenedApplication): Promise<{ keys: HostKeys; seeded: string }> {
  const { keys, created } = await prepareDemo(opened, () => undefined);
  const secret = (name: string): string => {
    const key = keys.find((k) => k.name === name);
    if (key === undefined) throw new Error(`the demo seed created no key "${name}"`);
    return key.secret;
  };
  return {
    keys: { service: secret("demo platform service"), admin: secret("demo platform admin") },
    seeded: `demo data (${String(created.length)} items: ${created.slice(0, 6).join(", ")}, …)`,
  };
}

/**
 * Writes `count` tenants as `tenants.create` and `principals.upsert` would, minus their one
 * transaction each: the same rows and audit events, many tenants per transaction.
 */
async function seedTenants(
  opened: OpenedApplication,
  spec: { count: number; batch: number },
): Promise<{ keys: HostKeys; seeded: string }> {
  const { app, store } = opened;
  const bootstrap = await opened.bootstrap({ name: "bench platform admin" });
  const admin = await app.authenticate(bootstrap.secret);
  const service = await app.apiKeys.create(admin, {
    name: "bench platform service",
    roles: ["platform_service"],
    tenants: "all",
  });
  const context: Context = {
    store,
    clock: systemClock,
    random: cryptoRandom,
    settings: DEFAULT_SETTINGS,
  };
  const actor = admin.id;
  const seedOne = async (r: Repositories, index: number): Promise<void> => {
    const id = tenantId(index);
    const now = systemClock.now().toISOString();
    if (
      !(await r.tenants.insert({
        id,
        name: `Tenant ${String(index)}`,
        createdAt: now,
        returnUrls: [],
      }))
    ) {
      throw new Error(`tenant ${id} exists`);
    }
    await r.policies.insert({
      tenant: id,
      version: 1,
      policy: { tenant: id, version: 1, posture: "platform_mfa" },
      rationale: "Initial policy of a new tenant.",
      actor,
      createdAt: now,
    });
    await recordAudit(context, r, {
      tenant: id,
      type: "tenant.created",
      actor,
      payload: { id, name: `Tenant ${String(index)}`, policyVersion: 1, posture: "platform_mfa" },
    });
    await r.principals.upsert({
      tenant: id,
      id: SEEDED_PRINCIPAL,
      population: "direct",
      createdAt: now,
      updatedAt: now,
    });
    await recordAudit(context, r, {
      tenant: id,
      type: "principal.registered",
      actor,
      payload: { id: SEEDED_PRINCIPAL, population: "direct", previousPopulation: null },
    });
  };
  for (let first = 0; first < spec.count; first += spec.batch) {
    const last = Math.min(first + spec.batch, spec.count);
    await store.transaction(async (r) => {
      for (let index = first; index < last; index++) await seedOne(r, index);
    });
  }
  return {
    keys: { service: service.secret, admin: bootstrap.secret },
    seeded:
      `each tenant with policy v1 (platform_mfa), principal "${SEEDED_PRINCIPAL}" (direct) and ` +
      `their 2 audit events, written ${String(spec.batch)} tenants a transaction`,
  };
}

function start(spec: HostSpec): Promise<Started> {
  return spec.kind === "bare" ? startBare() : startApp(spec.dbPath, spec.seed);
}

let server: Started | undefined;

process.on("disconnect", () => {
  // The parent is gone (or done with us): nothing else keeps this process useful.
  process.exit(0);
});

process.on("message", (message: HostRequest) => {
  void (async () => {
    try {
      if (message.type === "start") {
        const began = performance.now();
        server = await start(message.spec);
        reply({
          type: "ready",
          port: server.port,
          ...(server.keys === undefined ? {} : { keys: server.keys }),
          startMs: performance.now() - began,
          seedMs: server.seedMs,
          seeded: server.seeded,
        });
      } else if (message.type === "stats") {
        // Stats are taken before and after each round: profile segments follow them.
        await nextProfileSegment(`server-${String(process.pid)}`);
        const cpu = process.cpuUsage();
        const elu = performance.eventLoopUtilization();
        reply({
          type: "stats",
          cpuMicros: cpu.user + cpu.system,
          eluActiveMs: elu.active,
          eluIdleMs: elu.idle,
        });
      } else {
        await server?.close();
        server = undefined;
        reply({ type: "closed" });
      }
    } catch (error) {
      reply({
        type: "error",
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    }
  })();
});
