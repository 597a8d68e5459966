// Threat: one fractional maximum age locks a tenant, or every tenant, out of its IdP. OIDC's
// `max_age` is whole seconds (OIDC Core §3.1.2.1), and the authorization request refuses anything
// else as a bug; a tenant policy's `maxAgeSeconds: 300.5`, or a platform mandate's `900.5`,
// made every OIDC start answer 500 (DESIGN invariant 8), the mandate for every tenant at once.
// The API now takes whole seconds only, and a requirement already stored with a fraction is asked
// of the IdP rounded up: never stricter than the requirement, which the engine still checks
// exactly. End to end through the HTTP server, against a stub OIDC IdP on loopback.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { createTenant, RETURN_URL } from "../../http/test-support/oidc-federation.js";
import { must } from "../../http/test-support/saml-federation.js";
import { startStubIdp, type StubIdp } from "../../verifiers/oidc/test-support/stub-idp.js";

const OPERATOR: Caller = {
  id: "key_operator",
  name: "operator",
  roles: ["platform_admin"],
  tenants: "all",
};

let stub: StubIdp;
let t: TestServer | undefined;
beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(() => stub.close());
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function registerOidc(server: TestServer): Promise<void> {
  must(
    await server.call("PUT", "/v1/tenants/acme/idps/corp", {
      key: server.adminKey,
      body: {
        protocol: "oidc",
        oidc: { issuer: stub.issuer, clientId: stub.idp.clientId, clientSecret: "s3cret" },
      },
    }),
    201,
  );
}

/** The `max_age` an OIDC start asks of the IdP. */
async function askedMaxAge(server: TestServer): Promise<string | null> {
  const res = await server.call(
    "GET",
    `/t/acme/idps/corp/start?return_to=${encodeURIComponent(RETURN_URL)}`,
    { headers: { accept: "application/json" } },
  );
  expect(res.statusCode, res.body).toBe(303);
  return new URL(String(res.headers.location)).searchParams.get("max_age");
}

describe("a maximum age is asked of the IdP in whole seconds", () => {
  it("starts an OIDC sign-in under a stored tenant policy whose maxAgeSeconds holds a fraction, asking max_age rounded up", async () => {
    t = await openTestServer();
    await createTenant(t, "acme", "idp_mfa");
    // Stored before the API took whole seconds only: through the use case, below the schema.
    await t.app.policies.replace(OPERATOR, "acme", {
      policy: { posture: "idp_mfa", require: { maxAgeSeconds: 300.5 } },
      rationale: "written before whole seconds were required",
      ifMatch: 2,
    });
    await registerOidc(t);
    expect(await askedMaxAge(t)).toBe("301");
  });

  it("starts every tenant's OIDC sign-in under a stored mandate whose maxAgeSeconds holds a fraction", async () => {
    t = await openTestServer();
    await createTenant(t, "acme", "idp_mfa");
    await t.app.mandates.create(OPERATOR, {
      id: "uplift",
      mandate: {
        scope: { tenants: "all" },
        require: { minAal: 2, maxAgeSeconds: 899.25 },
        exemptible: false,
      },
      rationale: "written before whole seconds were required",
    });
    await registerOidc(t);
    expect(await askedMaxAge(t)).toBe("900");
  });

  it("refuses a tenant policy or a mandate whose durations are not whole seconds (400)", async () => {
    t = await openTestServer();
    await createTenant(t, "acme", "idp_mfa");
    for (const field of ["maxAgeSeconds", "reauthIntervalSeconds", "idleTimeoutSeconds"]) {
      const policy = await t.call("PUT", "/v1/tenants/acme/policy", {
        key: t.adminKey,
        headers: { "if-match": '"2"' },
        body: { policy: { posture: "idp_mfa", require: { [field]: 300.5 } }, rationale: "x" },
      });
      expect(policy.statusCode, policy.body).toBe(400);
      expect(policy.json()).toMatchObject({ code: "request.invalid" });
      const mandate = await t.call("POST", "/v1/platform/mandates", {
        key: t.adminKey,
        body: {
          id: "uplift",
          mandate: { scope: { tenants: "all" }, require: { [field]: 900.5 } },
          rationale: "Phishing campaign",
        },
      });
      expect(mandate.statusCode, mandate.body).toBe(400);
      expect(mandate.json()).toMatchObject({ code: "request.invalid" });
    }
  });
});
