/**
 * Messages between a benchmark section and the server it starts in a child process
 * (`host.ts`), over the child's IPC channel.
 */

/** A tenant id of the `tenants` seed: `t000042`. */
export const tenantId = (index: number): string => `t${String(index).padStart(6, "0")}`;

/** The principal registered in every tenant of the `tenants` seed. */
export const SEEDED_PRINCIPAL = "user";

/** How the seeded store of an application server is filled. */
export type SeedSpec =
  /** The `serve --demo` data, through the use cases (tenants acme, globex, initech, …). */
  | { readonly kind: "demo" }
  /**
   * `count` tenants `t000000`…, each as `tenants.create` and `principals.upsert` leave it
   * (tenant, policy version 1, principal `user`, and their audit events), written through the
   * store's repositories in transactions of `batch` tenants.
   */
  | { readonly kind: "tenants"; readonly count: number; readonly batch: number };

/** What the child serves. */
export type HostSpec =
  /** A Fastify server with default settings and one route, `POST /echo`, that returns the body. */
  | { readonly kind: "bare" }
  /** The real server (`startServer`) over a SQLite file, with the configuration's defaults. */
  | { readonly kind: "app"; readonly dbPath: string; readonly seed: SeedSpec };

export type HostRequest =
  | { readonly type: "start"; readonly spec: HostSpec }
  | { readonly type: "stats" }
  | { readonly type: "close" };

/** Cumulative figures of the child since it started. */
export interface HostStats {
  /** Process CPU time, user + system, µs. */
  readonly cpuMicros: number;
  /** `performance.eventLoopUtilization()`: time the event loop was busy and idle, ms. */
  readonly eluActiveMs: number;
  readonly eluIdleMs: number;
}

/** Secrets of the API keys the seed created (application servers only). */
export interface HostKeys {
  /** A `platform_service` key reaching all tenants: it calls the decision API. */
  readonly service: string;
  /** A `platform_admin` key: verifies the audit chains afterwards. */
  readonly admin: string;
}

export type HostReply =
  | {
      readonly type: "ready";
      readonly port: number;
      readonly keys?: HostKeys;
      /** From the start message to listening: migration, seeding, building the server. */
      readonly startMs: number;
      /** The seeding alone. */
      readonly seedMs: number;
      /** What the seed wrote, for the notes. */
      readonly seeded: string;
    }
  | ({ readonly type: "stats" } & HostStats)
  | { readonly type: "closed" }
  | { readonly type: "error"; readonly message: string };
