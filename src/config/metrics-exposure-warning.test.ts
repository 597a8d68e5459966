// Threat: `/metrics` left open on an address beyond loopback, where anyone on the network reads
// traffic per route and IdP refusals per tenant. Open is the documented default (a proxy or a
// network policy may keep it in), so the server does not refuse it: it says so at start, unless
// `metrics.token` guards it or the server listens on loopback only.
import { describe, expect, it } from "vitest";
import { metricsExposureWarning } from "./metrics-exposure-warning.js";

const TOKEN = "mtk_0123456789abcdefghijklmnopqrstuv";

describe("the warning about an open /metrics", () => {
  it.each(["0.0.0.0", "::", "10.0.0.5", "2001:db8::1", "mfa.example.com", "localhost.example"])(
    "warns when listening on %s without a token",
    (host) => {
      expect(metricsExposureWarning({ host, metrics: {} })).toMatch(
        /\/metrics answers anyone who reaches/,
      );
    },
  );

  it.each([
    "127.0.0.1",
    "127.0.0.53",
    "localhost",
    "LOCALHOST",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
  ])("says nothing when listening on %s (loopback)", (host) => {
    expect(metricsExposureWarning({ host, metrics: {} })).toBeUndefined();
  });

  it("says nothing when a token guards it, and never names the token", () => {
    expect(metricsExposureWarning({ host: "0.0.0.0", metrics: { token: TOKEN } })).toBeUndefined();
    expect(metricsExposureWarning({ host: "0.0.0.0", metrics: {} })).not.toContain(TOKEN);
  });
});
