import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Repositories, Store } from "../app/ports.js";
import type { AuditEvent } from "../app/records.js";

/** The server's Prometheus metrics, on a registry of their own (never the global one). */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route" | "status">;
  readonly decisions: Counter<"outcome" | "mode">;
  readonly auditAppends: Counter<"chain_kind">;
  /** IdPs that started to prove less than before: a misconfigured IdP shows here first. */
  readonly idpDrift: Counter<"kind">;
  /** IdP answers refused, by reason code (a closed set of verifier and use-case codes). */
  readonly federationRefusals: Counter<"reason">;
}

/** Creates the metrics; `defaults` adds the process metrics (CPU, memory, event loop). */
export function createMetrics(options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults === true)
    collectDefaultMetrics({ register: registry, prefix: "tenant_mfa_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "tenant_mfa_http_requests_total",
      help: "HTTP requests by method, route pattern and status.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "tenant_mfa_http_request_duration_seconds",
      help: "HTTP request latency by method, route pattern and status.",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    decisions: new Counter({
      name: "tenant_mfa_decisions_total",
      help: "Decisions made through the API, by outcome and mode.",
      labelNames: ["outcome", "mode"],
      registers: [registry],
    }),
    auditAppends: new Counter({
      name: "tenant_mfa_audit_appends_total",
      help: "Audit events committed, by chain kind (platform or tenant).",
      labelNames: ["chain_kind"],
      registers: [registry],
    }),
    idpDrift: new Counter({
      name: "tenant_mfa_idp_drift_total",
      help: "IdPs seen to stop proving MFA (mfa_missing) or to send unmapped values (unmapped_value).",
      labelNames: ["kind"],
      registers: [registry],
    }),
    federationRefusals: new Counter({
      name: "tenant_mfa_federation_refusals_total",
      help: "SAML and OIDC answers refused, by reason code.",
      labelNames: ["reason"],
      registers: [registry],
    }),
  };
}

/**
 * Wraps a store so that every audit event committed through it is counted: appends are counted
 * once their transaction commits, never for a rolled-back one. Everything else passes through.
 */
export function countAuditAppends(store: Store, metrics: Metrics): Store {
  const transaction = async <T>(work: (repositories: Repositories) => Promise<T>): Promise<T> => {
    const appended: AuditEvent[] = [];
    const result = await store.transaction((repositories) => {
      const audit = override(repositories.audit, {
        append: async (chain: string, link: Parameters<typeof repositories.audit.append>[1]) => {
          const event = await repositories.audit.append(chain, link);
          appended.push(event);
          return event;
        },
        appendMany: async (
          chain: string,
          links: Parameters<typeof repositories.audit.appendMany>[1],
        ) => {
          const events = await repositories.audit.appendMany(chain, links);
          appended.push(...events);
          return events;
        },
        appendToChains: async (runs: Parameters<typeof repositories.audit.appendToChains>[0]) => {
          const events = await repositories.audit.appendToChains(runs);
          appended.push(...events);
          return events;
        },
      });
      return work(override(repositories, { audit }));
    });
    for (const event of appended) count(metrics, event);
    return result;
  };
  return override(store, { transaction });
}

/** Counts one committed audit event, and what it tells about federation. */
function count(metrics: Metrics, event: AuditEvent): void {
  metrics.auditAppends.inc({ chain_kind: event.chain === "platform" ? "platform" : "tenant" });
  const label = (key: string): string => {
    const value = event.payload[key];
    return typeof value === "string" ? value : "unknown";
  };
  if (event.type === "idp.drift") metrics.idpDrift.inc({ kind: label("kind") });
  if (event.type === "federation.rejected" || event.type === "federation.mfa_unavailable") {
    metrics.federationRefusals.inc({ reason: label("reason") });
  }
  // Refusals past the audit budget are recorded as a count per reason, once a minute.
  if (event.type === "federation.refusals_suppressed") {
    const reasons = event.payload["reasons"];
    if (typeof reasons !== "object" || reasons === null) return;
    for (const [reason, n] of Object.entries(reasons)) {
      if (Number.isSafeInteger(n) && (n as number) > 0) {
        metrics.federationRefusals.inc({ reason }, n as number);
      }
    }
  }
}

/** A view of `target` with some members replaced; other methods stay bound to `target`. */
function override<T extends object>(target: T, replaced: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.prototype.hasOwnProperty.call(replaced, property))
        return (replaced as Record<string | symbol, unknown>)[property];
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === "function"
        ? (value as (...a: unknown[]) => unknown).bind(object)
        : value;
    },
  });
}
