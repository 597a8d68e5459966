/**
 * Threat: a tenant that is a dot segment (`.` or `..`, which a platform route such as
 * `/:tenant/billing` hands over decoded from `/%2e%2e/billing`) escaping the flow path it is put
 * in: the URL parser resolves `v1/tenants/../flows` to `v1/flows`, so the SDK sent the platform's
 * API key, the principal and the step-up to another endpoint than the flow API's. Percent-escaping
 * does not help (`%2e%2e` is a dot segment too). No tenant id is a dot segment: such a tenant is
 * refused before any request is sent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startStepUp } from "./start-step-up.js";
import { TenantMfaApiError } from "./tenant-mfa-client.js";
import { openFakeFlowApi, type FakeFlowApi } from "./test-support/fake-flow-api.js";

let api: FakeFlowApi;
beforeAll(async () => {
  api = await openFakeFlowApi();
});
afterAll(() => api.close());
beforeEach(() => {
  api.received.length = 0;
});

describe("startStepUp for a tenant that is a dot segment", () => {
  it.each([".", "..", ""])("refuses %j without sending anything", async (tenant) => {
    const error: unknown = await startStepUp(
      { baseUrl: `${api.baseUrl}/mfa/`, apiKey: api.apiKey },
      { tenant, principal: { id: "alice" }, returnTo: "https://platform.test/mfa/return" },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TenantMfaApiError);
    expect(error).toMatchObject({ code: "api.invalid_tenant" });
    expect(api.received).toEqual([]);
  });

  it("still sends a tenant with dots among other characters, escaped, under the flow path", async () => {
    await startStepUp(
      { baseUrl: api.baseUrl, apiKey: api.apiKey },
      { tenant: "...", principal: { id: "alice" }, returnTo: "https://platform.test/mfa/return" },
    ).catch(() => undefined);
    expect(api.received.map((r) => r.path)).toEqual(["/v1/tenants/.../flows"]);
  });
});
