import { isLoopbackHost } from "./loopback-host.js";

/**
 * What to warn an operator about when `/metrics` answers anyone (no `metrics.token`) and the
 * server listens beyond loopback, or undefined when there is nothing to say. The metrics show
 * traffic per route, decisions by outcome and IdP refusals per tenant; open is the documented
 * default (a proxy that does not route it, or a network policy, may keep it in), so the server
 * does not refuse to start, it says so. Never names the token.
 */
export function metricsExposureWarning(config: {
  readonly host: string;
  readonly metrics: { readonly token?: string | undefined };
}): string | undefined {
  if (config.metrics.token !== undefined || isLoopbackHost(config.host)) return undefined;
  return (
    `/metrics answers anyone who reaches ${config.host}: set metrics.token ` +
    "(TENANT_MFA_METRICS_TOKEN) to require it as a bearer token, or keep /metrics from the " +
    "network (a proxy that does not route it, a network policy)"
  );
}
