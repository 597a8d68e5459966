// Threat: online guessing through the HTTP API by way of WebAuthn and recovery codes. Over the
// real server, the WebAuthn authentication finish and the recovery-code verify share TOTP's
// throttle: a throttled attempt answers 429 with Retry-After (the challenge kept, the code
// unused), a locked principal 423 on both, the unlock route lifts every method's lock and says
// so; both bodies take `clientAddress`, validated and documented; revoking recovery codes needs
// the backend to show a fresh MFA (403).
import { provedMfaJustNow } from "../../app/test-support/fresh-mfa.js";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  backoffSeconds,
  VERIFICATION_THROTTLE_DEFAULTS,
} from "../../app/authenticators/verification-throttle.js";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

// Many verifications per test: generous limits for a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let t: TestServer;
let service: string;
let tenantAdmin: string;
let serial = 0;
const WRONG = "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ";

const base = (principal: string) => `/v1/tenants/acme/principals/${principal}/authenticators`;
const problem = (response: LightMyRequestResponse) => [
  response.statusCode,
  response.json<{ code?: string }>().code,
];

interface Enrolled {
  readonly principal: string;
  readonly key: SoftAuthenticator;
  readonly credential: string;
  readonly codes: string[];
}

/** A new principal with a WebAuthn credential and ten recovery codes. */
async function enrolled(): Promise<Enrolled> {
  const principal = `user-${++serial}`;
  await t.call("PUT", `/v1/tenants/acme/principals/${principal}`, {
    key: t.adminKey,
    body: { population: "direct" },
  });
  const key = new SoftAuthenticator({ origin: "https://mfa.test" });
  const begun = await t.call("POST", `${base(principal)}/webauthn/registrations`, { key: service });
  const { registration, options } = begun.json<{ registration: string; options: never }>();
  const finished = await t.call(
    "POST",
    `${base(principal)}/webauthn/registrations/${registration}`,
    {
      key: service,
      body: { response: key.register(options) },
    },
  );
  expect(finished.statusCode, finished.body).toBe(201);
  // Binding another method needs a fresh MFA; the set-up's proof is stale once the codes exist.
  await provedMfaJustNow(t, "acme", principal);
  const issued = await t.call("POST", `${base(principal)}/recovery-codes`, { key: service });
  expect(issued.statusCode).toBe(201);
  t.clock.advance(1);
  return {
    principal,
    key,
    credential: finished.json<{ id: string }>().id,
    codes: [...issued.json<{ codes: string[] }>().codes],
  };
}

const verifyCode = (who: Enrolled, code: string, clientAddress?: string) =>
  t.call("POST", `${base(who.principal)}/recovery-codes/verify`, {
    key: service,
    body: { code, ...(clientAddress === undefined ? {} : { clientAddress }) },
  });

/** Begins an authentication and returns a function that sends one assertion for it. */
async function ceremony(who: Enrolled, clientAddress?: string) {
  const begun = await t.call("POST", `${base(who.principal)}/webauthn/authentications`, {
    key: service,
  });
  expect(begun.statusCode, begun.body).toBe(201);
  const { authentication, options } = begun.json<{ authentication: string; options: never }>();
  const response = who.key.authenticate(options);
  return () =>
    t.call("POST", `${base(who.principal)}/webauthn/authentications/${authentication}`, {
      key: service,
      body: { response, ...(clientAddress === undefined ? {} : { clientAddress }) },
    });
}

beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme Corp" } });
  service = await t.key(["platform_service"], ["acme"]);
  tenantAdmin = await t.key(["tenant_admin"], ["acme"]);
});
afterAll(() => t.close());

describe("WebAuthn and recovery codes throttled over HTTP", () => {
  it("answer 429 with Retry-After once the principal backs off, and work after the wait", async () => {
    const who = await enrolled();
    for (let n = 1; n <= 6; n += 1) {
      expect(problem(await verifyCode(who, WRONG))).toEqual([422, "recovery_code.wrong_code"]);
    }
    const send = await ceremony(who);
    for (const throttled of [await verifyCode(who, who.codes[0]!), await send()]) {
      expect(problem(throttled)).toEqual([429, "authenticator.throttled"]);
      expect(throttled.headers["retry-after"]).toBe("1");
      expect(throttled.json()).toMatchObject({ retryAfter: 1 });
    }
    t.clock.advance(1);
    // The challenge was kept and the code not used: both work now.
    const accepted = await send();
    expect(accepted.statusCode, accepted.body).toBe(200);
    const used = await verifyCode(who, who.codes[0]!);
    expect(used.statusCode).toBe(200);
    expect(used.json<{ remaining: number }>().remaining).toBe(9);
  });

  it("answer 423 once the principal is locked, until the unlock route lifts every lock", async () => {
    const who = await enrolled();
    for (let n = 1; n <= 100; n += 1) {
      await verifyCode(who, WRONG);
      t.clock.advance(backoffSeconds(VERIFICATION_THROTTLE_DEFAULTS.principal, n));
    }
    const send = await ceremony(who);
    expect(problem(await send())).toEqual([423, "authenticator.locked"]);
    expect(problem(await verifyCode(who, who.codes[0]!))).toEqual([423, "authenticator.locked"]);
    const unlocked = await t.call("POST", `${base(who.principal)}/unlock`, {
      key: tenantAdmin,
      body: { reason: "Identity checked in person" },
    });
    expect(unlocked.statusCode, unlocked.body).toBe(200);
    expect(unlocked.json()).toEqual({
      principal: who.principal,
      wasLocked: true,
      failedAttempts: 100,
      authenticators: [],
      recoveryCodes: { set: expect.any(String) as unknown, wasLocked: true, failedAttempts: 100 },
    });
    expect((await send()).statusCode).toBe(200);
    expect((await verifyCode(who, who.codes[0]!)).statusCode).toBe(200);
  });

  it("take a client address, and refuse a malformed one with 400", async () => {
    const who = await enrolled();
    const send = await ceremony(who, "192.0.2.1");
    expect((await send()).statusCode).toBe(200);
    expect((await verifyCode(who, who.codes[0]!, "192.0.2.1")).statusCode).toBe(200);
    const badCode = await verifyCode(who, who.codes[1]!, "192.0.2.300");
    const badAssertion = await (await ceremony(who, "nowhere"))();
    for (const bad of [badCode, badAssertion]) {
      expect(problem(bad)).toEqual([400, "request.invalid"]);
      expect(bad.json<{ errors: { pointer: string }[] }>().errors.map((e) => e.pointer)).toEqual([
        "#/clientAddress",
      ]);
    }
  });

  it("revoke recovery codes for the backend only after a fresh MFA (403 before)", async () => {
    const who = await enrolled();
    const url = `${base(who.principal)}/recovery-codes`;
    expect(problem(await t.call("DELETE", url, { key: service }))).toEqual([
      403,
      "authenticator.fresh_mfa_required",
    ]);
    expect((await (await ceremony(who))()).statusCode).toBe(200);
    expect((await t.call("DELETE", url, { key: service })).statusCode).toBe(204);
  });

  it("are documented in OpenAPI with the client address and the throttle", async () => {
    const document = (await t.call("GET", "/openapi.json")).json<{
      paths: Record<string, Record<string, { description?: string; requestBody?: unknown }>>;
    }>();
    const prefix = "/v1/tenants/{tenant}/principals/{principal}/authenticators";
    for (const path of [
      `${prefix}/recovery-codes/verify`,
      `${prefix}/webauthn/authentications/{authentication}`,
    ]) {
      const route = document.paths[path]?.post;
      expect(route?.description).toMatch(/authenticator\.throttled/);
      expect(JSON.stringify(route?.requestBody)).toMatch(/clientAddress/);
    }
  });
});
