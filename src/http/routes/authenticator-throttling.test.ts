// Threat: online guessing and account takeover through the HTTP API. Over the real server:
// a throttled verification answers 429 with Retry-After (and `retryAfter` in the problem), a
// locked principal 423, an administrator unlocks through the unlock route, and removals are
// refused without a fresh MFA (403) or when they would take the last method (409).
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  backoffSeconds,
  VERIFICATION_THROTTLE_DEFAULTS,
} from "../../app/authenticators/verification-throttle.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let t: TestServer;
let service: string;
let tenantAdmin: string;
let auditor: string;
let serial = 0;

const base = (principal: string) => `/v1/tenants/acme/principals/${principal}/authenticators`;
const problem = (response: LightMyRequestResponse) => [
  response.statusCode,
  response.json<{ code?: string }>().code,
];

/** A new principal with one confirmed TOTP authenticator; the clock moved past its step. */
async function enrolled(): Promise<{ principal: string; id: string; secret: string }> {
  const principal = `user-${++serial}`;
  await t.call("PUT", `/v1/tenants/acme/principals/${principal}`, {
    key: t.adminKey,
    body: { population: "direct" },
  });
  const begun = await t.call("POST", `${base(principal)}/totp`, { key: service, body: {} });
  const { authenticator, secret } = begun.json<{ authenticator: { id: string }; secret: string }>();
  const confirmed = await t.call("POST", `${base(principal)}/${authenticator.id}/confirm`, {
    key: service,
    body: { code: oathtoolCode(secret, t.clock.now()) },
  });
  expect(confirmed.statusCode).toBe(200);
  t.clock.advance(60);
  return { principal, id: authenticator.id, secret };
}

const verify = (totp: { principal: string; id: string }, code: string, clientAddress?: string) =>
  t.call("POST", `${base(totp.principal)}/${totp.id}/verify`, {
    key: service,
    body: { code, ...(clientAddress === undefined ? {} : { clientAddress }) },
  });

const wrong = (secret: string) => oathtoolCode(secret, new Date(t.clock.now().getTime() - 300_000));

beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme Corp" } });
  service = await t.key(["platform_service"], ["acme"]);
  tenantAdmin = await t.key(["tenant_admin"], ["acme"]);
  auditor = await t.key(["tenant_auditor"], ["acme"]);
});
afterAll(() => t.close());

describe("throttled and locked verification over HTTP", () => {
  it("answers 429 with Retry-After and retryAfter once the backoff applies", async () => {
    const totp = await enrolled();
    const code = wrong(totp.secret);
    for (let n = 1; n <= 6; n += 1)
      expect(problem(await verify(totp, code))).toEqual([422, "totp.wrong_code"]);
    const throttled = await verify(totp, oathtoolCode(totp.secret, t.clock.now()));
    expect(problem(throttled)).toEqual([429, "authenticator.throttled"]);
    expect(throttled.headers["retry-after"]).toBe("1");
    expect(throttled.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(throttled.json()).toMatchObject({ retryAfter: 1, details: { retryAfter: 1 } });
    t.clock.advance(1);
    expect((await verify(totp, oathtoolCode(totp.secret, t.clock.now()))).statusCode).toBe(200);
  });

  it("limits a client address across principals, and refuses a malformed one with 400", async () => {
    const address = "2001:db8:77::5";
    const totps = [];
    for (let n = 0; n < 22; n += 1) totps.push(await enrolled());
    for (const totp of totps.slice(0, 21)) await verify(totp, wrong(totp.secret), address);
    const last = totps[21] as (typeof totps)[number];
    const throttled = await verify(last, oathtoolCode(last.secret, t.clock.now()), address);
    expect(problem(throttled)).toEqual([429, "authenticator.throttled"]);
    expect(throttled.headers["retry-after"]).toBe("1");
    const bad = await verify(last, oathtoolCode(last.secret, t.clock.now()), "10.0.0.256");
    expect(problem(bad)).toEqual([400, "request.invalid"]);
    expect(bad.json<{ errors: { pointer: string }[] }>().errors.map((e) => e.pointer)).toEqual([
      "#/clientAddress",
    ]);
  });

  it("answers 423 once the principal is locked, until the unlock route lifts it", async () => {
    const totp = await enrolled();
    const code = wrong(totp.secret);
    for (let n = 1; n <= 100; n += 1) {
      await verify(totp, code);
      t.clock.advance(backoffSeconds(VERIFICATION_THROTTLE_DEFAULTS.principal, n));
    }
    const locked = await verify(totp, oathtoolCode(totp.secret, t.clock.now()));
    expect(problem(locked)).toEqual([423, "authenticator.locked"]);
    const unlock = `${base(totp.principal)}/unlock`;
    expect(problem(await t.call("POST", unlock, { key: service, body: {} }))).toEqual([
      403,
      "auth.forbidden",
    ]);
    expect(problem(await t.call("POST", unlock, { key: auditor, body: {} }))).toEqual([
      403,
      "auth.forbidden",
    ]);
    expect(
      problem(await t.call("POST", unlock, { key: tenantAdmin, body: { reason: "" } })),
    ).toEqual([400, "request.invalid"]);
    const unlocked = await t.call("POST", unlock, {
      key: tenantAdmin,
      body: { reason: "Identity checked in person" },
    });
    expect(unlocked.statusCode).toBe(200);
    expect(unlocked.json()).toEqual({
      principal: totp.principal,
      wasLocked: true,
      failedAttempts: 100,
      authenticators: [totp.id],
    });
    t.clock.advance(30);
    expect((await verify(totp, oathtoolCode(totp.secret, t.clock.now()))).statusCode).toBe(200);
    const audit = await t.call("GET", "/v1/tenants/acme/audit?type=authenticator.unlocked", {
      key: t.adminKey,
    });
    const events = audit.json<{ items: { payload: Record<string, unknown> }[] }>().items;
    expect(events.map((e) => e.payload)).toContainEqual(
      expect.objectContaining({
        principal: totp.principal,
        by: "administrator",
        role: "tenant_admin",
        reason: "Identity checked in person",
      }),
    );
  });
});

describe("removal rules over HTTP", () => {
  it("refuses the platform's backend without a fresh MFA (403), and takes no last method (409)", async () => {
    const totp = await enrolled();
    const url = `${base(totp.principal)}/${totp.id}`;
    expect(problem(await t.call("DELETE", url, { key: service }))).toEqual([
      403,
      "authenticator.fresh_mfa_required",
    ]);
    expect((await verify(totp, oathtoolCode(totp.secret, t.clock.now()))).statusCode).toBe(200);
    const last = await t.call("DELETE", url, { key: service });
    expect(problem(last)).toEqual([409, "authenticator.last_method"]);
    expect(last.json<{ detail: string }>().detail).toMatch(/enrol another method first/);
    expect(problem(await t.call("DELETE", url, { key: tenantAdmin }))).toEqual([
      409,
      "authenticator.last_method",
    ]);
  });

  it("documents the client address, the throttle and the unlock route in OpenAPI", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, Record<string, { description?: string; requestBody?: unknown }>>;
    }>();
    const verifyRoute =
      document.paths["/v1/tenants/{tenant}/principals/{principal}/authenticators/{id}/verify"]
        ?.post;
    expect(verifyRoute?.description).toMatch(/authenticator\.throttled/);
    expect(JSON.stringify(verifyRoute?.requestBody)).toMatch(/clientAddress/);
    expect(
      document.paths["/v1/tenants/{tenant}/principals/{principal}/authenticators/unlock"]?.post,
    ).toBeDefined();
  });
});
