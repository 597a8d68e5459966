import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyRequest } from "fastify";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { assurancePreHandler } from "./fastify-assurance.js";
import { exchangeCode } from "./exchange-code.js";
import type { AssuranceGuardOptions, RequestWithHeaders } from "./guard-assurance.js";
import { requireAssurance, type AssuredRequest } from "./require-assurance.js";
import type { TenantMfaApiError } from "./tenant-mfa-client.js";
import { openFakeFlowApi, type FakeFlowApi } from "./test-support/fake-flow-api.js";
import {
  AUDIENCE,
  ISSUER,
  openAssuranceFixture,
  type AssuranceFixture,
} from "./test-support/assurance-fixture.js";
import { verifyAssuranceToken } from "./verify-assurance-token.js";

// Threat: a platform route reachable without the assurance it needs: no token, a forged or
// foreign token (another tenant, another user), a weak or stale sign-in, or a step-up that is
// skipped, asks for too little, or turns a forged token into a fresh flow. Both adapters run as
// real servers on loopback; tokens are signed by the real signing keys and verified with the
// real server's JWKS; the flow API is a loopback server speaking its contract.
const NEEDS = { minAal: 2, maxAgeSeconds: 600 } as const;
const RETURN_TO = "https://platform.test/mfa/return";

let f: AssuranceFixture;
let api: FakeFlowApi;
beforeAll(async () => {
  f = await openAssuranceFixture();
  api = await openFakeFlowApi({ returnUrls: [RETURN_TO] });
});
afterAll(async () => {
  await api.close();
  await f.close();
});
beforeEach(() => {
  api.received.length = 0;
});

/** The guard's options for a route; `browser` routes step up instead of refusing. */
function guardOptions<Req extends RequestWithHeaders>(
  browser: boolean,
  tenantOf: (req: Req) => string | undefined,
): AssuranceGuardOptions<Req> {
  return {
    verify: { jwksUrl: f.jwksUrl, issuer: ISSUER, audience: AUDIENCE },
    needs: NEEDS,
    cookie: "mfa_assurance",
    tenant: tenantOf,
    // The platform's own session: here, a header its test client sets.
    principal: (req) => {
      const user = req.headers["x-user"];
      return typeof user === "string" ? { id: user, population: "direct" } : undefined;
    },
    now: () => f.server.clock.now(),
    ...(browser
      ? {
          stepUp: {
            client: { baseUrl: api.baseUrl, apiKey: api.apiKey },
            returnTo: RETURN_TO,
            state: (req) => {
              const session = req.headers["x-session"];
              return typeof session === "string" ? `state-for-${session}` : undefined;
            },
            audience: AUDIENCE,
          },
        }
      : {}),
  };
}

const tenantInPath = (url: string | undefined) => /^\/([^/]+)\//.exec(url ?? "")?.[1];

/** The platform as a plain node:http server with the Express-style middleware. */
async function openNodePlatform(): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const api = requireAssurance(
    guardOptions(false, (req: IncomingMessage) => tenantInPath(req.url)),
  );
  const browser = requireAssurance(
    guardOptions(true, (req: IncomingMessage) => tenantInPath(req.url)),
  );
  const server: Server = createServer((req: AssuredRequest, res: ServerResponse) => {
    const guard = req.url?.includes("/browser/") === true ? browser : api;
    guard(req, res, (error?: unknown) => {
      if (error !== undefined) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: (error as TenantMfaApiError).code }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ sub: req.assurance?.sub, aal: req.assurance?.aal }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** The platform as a Fastify server with the preHandler. */
async function openFastifyPlatform(): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const app = Fastify();
  const tenantOf = (req: FastifyRequest) => (req.params as { tenant?: string }).tenant;
  app.setErrorHandler((error, _request, reply) =>
    reply.code(502).send({ error: (error as TenantMfaApiError).code }),
  );
  const handler = (request: FastifyRequest) =>
    Promise.resolve({ sub: request.assurance?.sub, aal: request.assurance?.aal });
  app.get(
    "/:tenant/reports",
    { preHandler: assurancePreHandler(guardOptions(false, tenantOf)) },
    handler,
  );
  app.get(
    "/:tenant/browser/reports",
    { preHandler: assurancePreHandler(guardOptions(true, tenantOf)) },
    handler,
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    baseUrl: `http://127.0.0.1:${String((app.server.address() as AddressInfo).port)}`,
    close: () => app.close(),
  };
}

describe.each([
  ["Express-style middleware on node:http", openNodePlatform],
  ["Fastify preHandler", openFastifyPlatform],
])("%s", (_name, open) => {
  let platform: { baseUrl: string; close(): Promise<void> };
  beforeAll(async () => {
    platform = await open();
  });
  afterAll(() => platform.close());

  const get = (
    path: string,
    options: { token?: string; cookie?: string; user?: string; session?: string } = {},
  ) =>
    fetch(`${platform.baseUrl}${path}`, {
      redirect: "manual",
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
        "x-user": options.user ?? "alice",
        ...(options.session === undefined ? {} : { "x-session": options.session }),
      },
    });

  const expectProblem = async (response: Response, status: number, code: string) => {
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status, code, type: `urn:tenant-mfa:problem:${code}` });
    return problem;
  };

  it("lets a token meeting the needs through, from the Authorization header or the cookie", async () => {
    const token = await f.sign(f.claims({ aal: 2, phr: false }));
    const viaHeader = await get("/acme/reports", { token });
    expect(viaHeader.status).toBe(200);
    expect(await viaHeader.json()).toEqual({ sub: "alice", aal: 2 });
    const viaCookie = await get("/acme/reports", { cookie: `theme=dark; mfa_assurance=${token}` });
    expect(viaCookie.status).toBe(200);
    expect(await viaCookie.json()).toEqual({ sub: "alice", aal: 2 });
  });

  it("answers 401 token.missing with a Bearer challenge when there is no token", async () => {
    const response = await get("/acme/reports");
    await expectProblem(response, 401, "token.missing");
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="assurance"');
    const wrongScheme = await fetch(`${platform.baseUrl}/acme/reports`, {
      headers: {
        authorization: `Basic ${Buffer.from("a:b").toString("base64")}`,
        "x-user": "alice",
      },
    });
    await expectProblem(wrongScheme, 401, "token.missing");
  });

  it("answers 401 for a tampered token, naming invalid_token", async () => {
    const [header, , signature] = (await f.sign(f.claims({ aal: 1 }))).split(".");
    const payload = Buffer.from(JSON.stringify(f.claims({ aal: 3 }))).toString("base64url");
    const response = await get("/acme/reports", { token: `${header}.${payload}.${signature}` });
    await expectProblem(response, 401, "token.invalid");
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("refuses a genuine token on another tenant's route, or in another user's session", async () => {
    const token = await f.sign(f.claims());
    await expectProblem(await get("/globex/reports", { token }), 401, "token.wrong_tenant");
    await expectProblem(
      await get("/acme/reports", { token, user: "bob" }),
      401,
      "token.wrong_subject",
    );
  });

  it("answers 403 naming the shortfall and the step-up to request when the sign-in is too weak or too old", async () => {
    const weak = await f.sign(f.claims({ aal: 1, phr: false, amr: ["pwd"] }));
    expect(
      await expectProblem(
        await get("/acme/reports", { token: weak }),
        403,
        "assurance.insufficient",
      ),
    ).toMatchObject({
      shortfall: { aal: { required: 2, actual: 1 } },
      step_up: { minAal: 2, maxAgeSeconds: 600 },
    });
    const stale = await f.sign(f.claims({ auth_time: f.nowSeconds() - 601 }));
    expect(
      await expectProblem(
        await get("/acme/reports", { token: stale }),
        403,
        "assurance.insufficient",
      ),
    ).toMatchObject({
      shortfall: { age: { maxAgeSeconds: 600, ageSeconds: 601 } },
    });
    const fresh = await f.sign(f.claims({ auth_time: f.nowSeconds() - 600 }));
    expect((await get("/acme/reports", { token: fresh })).status).toBe(200);
    expect(api.received).toHaveLength(0);
  });

  it("on a browser route, redirects (303) a weak sign-in to a flow asking for every need", async () => {
    const weak = await f.sign(f.claims({ aal: 1, phr: false }));
    const response = await get("/acme/browser/reports", { token: weak, session: "sess-1" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toMatch(
      /^https:\/\/mfa\.test\/t\/acme\/flows\/flw_\d+\?open=[\w-]{32}$/,
    );
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(api.received).toEqual([
      expect.objectContaining({
        path: "/v1/tenants/acme/flows",
        authorization: `Bearer ${api.apiKey}`,
        body: {
          principal: { id: "alice", population: "direct" },
          return_to: RETURN_TO,
          state: "state-for-sess-1",
          step_up: { minAal: 2, maxAgeSeconds: 600 },
          audience: AUDIENCE,
        },
      }),
    ]);
  });

  it("on a browser route, redirects when there is no token or it expired, but never for a forged or foreign one", async () => {
    expect((await get("/acme/browser/reports")).status).toBe(303);
    const expired = await f.sign(
      f.claims({ iat: f.nowSeconds() - 400, exp: f.nowSeconds() - 100 }),
    );
    expect((await get("/acme/browser/reports", { token: expired })).status).toBe(303);
    expect(api.received).toHaveLength(2);

    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT({ ...f.claims() })
      .setProtectedHeader({
        alg: "ES256",
        kid: (await f.activeKey()).kid,
        typ: "tenant-mfa-assurance+jwt",
      })
      .sign(privateKey);
    await expectProblem(
      await get("/acme/browser/reports", { token: forged }),
      401,
      "token.invalid",
    );
    const foreign = await f.sign(f.claims({ tenant: "globex" }));
    await expectProblem(
      await get("/acme/browser/reports", { token: foreign }),
      401,
      "token.wrong_tenant",
    );
    expect(api.received).toHaveLength(2);
  });

  it("without a signed-in principal, refuses rather than start a flow for nobody", async () => {
    const response = await fetch(`${platform.baseUrl}/acme/browser/reports`, {
      redirect: "manual",
    });
    await expectProblem(response, 401, "token.missing");
    expect(api.received).toHaveLength(0);
  });

  it("without a signed-in principal, lets no token through, whoever it names", async () => {
    const token = await f.sign(f.claims({}));
    expect((await get("/acme/browser/reports", { token })).status).toBe(200);
    const response = await fetch(`${platform.baseUrl}/acme/browser/reports`, {
      redirect: "manual",
      headers: { authorization: `Bearer ${token}` },
    });
    await expectProblem(response, 401, "token.wrong_subject");
  });

  it("hands an error starting the flow to the platform's error handling", async () => {
    api.answerNextWith({
      status: 503,
      contentType: "application/problem+json",
      body: JSON.stringify({ status: 503, code: "store.unavailable", detail: "down" }),
    });
    const response = await get("/acme/browser/reports");
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: "store.unavailable" });
  });

  it("completes a step-up: redirect, exchange the code, verify, then the route lets the new token through", async () => {
    const weak = await f.sign(f.claims({ aal: 1, phr: false }));
    const redirect = await get("/acme/browser/reports", { token: weak, session: "sess-2" });
    expect(redirect.status).toBe(303);
    // The user completes the flow; tenant-mfa redirects to return_to with a code and the state.
    const stepped = await f.sign(f.claims({ aal: 3, phr: true }));
    api.codes.set("code-xyz", { token: stepped, tenant: "acme", principal: "alice" });
    const sent = api.received[0]?.body as { state: string };
    expect(sent.state).toBe("state-for-sess-2");
    // The platform's callback: the state must be this session's, the token verified before use.
    const exchanged = await exchangeCode({ baseUrl: api.baseUrl, apiKey: api.apiKey }, "code-xyz");
    const claims = await verifyAssuranceToken(exchanged.token, {
      jwksUrl: f.jwksUrl,
      issuer: ISSUER,
      audience: AUDIENCE,
      tenant: "acme",
      subject: "alice",
      currentDate: f.server.clock.now(),
    });
    expect(claims.aal).toBe(3);
    const after = await get("/acme/browser/reports", {
      cookie: `mfa_assurance=${exchanged.token}`,
    });
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ sub: "alice", aal: 3 });
  });
});

describe("the guard's key set outage", () => {
  it("answers 503 token.keys_unavailable when the JWKS cannot be fetched, never passing the token", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const guard = requireAssurance({
      verify: {
        jwksUrl: `http://127.0.0.1:${String(port)}/.well-known/jwks.json`,
        issuer: ISSUER,
        audience: AUDIENCE,
        tenant: "acme",
      },
      needs: {},
      anyPrincipal: true,
      now: () => f.server.clock.now(),
    });
    let passed = false;
    const server = createServer((req, res) => {
      guard(req, res, () => {
        passed = true;
        res.end("through");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const response = await fetch(
        `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/x`,
        { headers: { authorization: `Bearer ${await f.sign(f.claims())}` } },
      );
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: "token.keys_unavailable" });
      expect(passed).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("the guard's configuration", () => {
  const verify = {
    jwksUrl: "https://mfa.example/.well-known/jwks.json",
    issuer: ISSUER,
    audience: AUDIENCE,
  };

  it("refuses to build a guard that would accept a token of any tenant", () => {
    expect(() => requireAssurance({ verify, needs: {}, anyPrincipal: true })).toThrow(/tenant/);
    expect(() => assurancePreHandler({ verify, needs: {}, anyPrincipal: true })).toThrow(/tenant/);
    expect(() =>
      requireAssurance({ verify: { ...verify, tenant: "acme" }, needs: {}, anyPrincipal: true }),
    ).not.toThrow();
  });

  // Threat: Mallory, holding a colleague's password-only session of the same tenant, presents
  // her own assurance token (a header, or a planted cookie) to the colleague's step-up route.
  it("refuses to build a guard that would accept any principal's token, unless told so", () => {
    const acme = { verify: { ...verify, tenant: "acme" }, needs: {} };
    expect(() => requireAssurance(acme)).toThrow(/principal/);
    expect(() => assurancePreHandler(acme)).toThrow(/principal/);
    expect(() =>
      requireAssurance({ ...acme, principal: () => ({ id: "alice" }), anyPrincipal: true }),
    ).toThrow(/not both/);
    for (const bound of [
      { ...acme, principal: () => ({ id: "alice" }) },
      { ...acme, verify: { ...acme.verify, subject: "alice" } },
      { ...acme, anyPrincipal: true as const },
    ])
      expect(() => requireAssurance(bound)).not.toThrow();
  });

  it("refuses to build a guard whose needs it does not understand", () => {
    const needs = { maxAge: 300 } as unknown as { maxAgeSeconds: number };
    expect(() =>
      requireAssurance({ verify: { ...verify, tenant: "acme" }, needs, anyPrincipal: true }),
    ).toThrow(/maxAge/);
  });

  it("refuses to build a step-up guard that does not know the session's user", () => {
    expect(() =>
      requireAssurance({
        verify,
        needs: {},
        tenant: () => "acme",
        stepUp: { client: { baseUrl: api.baseUrl, apiKey: api.apiKey }, returnTo: RETURN_TO },
      }),
    ).toThrow(/principal/);
  });

  it("fails the request, never passes it, when the route's tenant cannot be read", async () => {
    const guard = requireAssurance({
      verify,
      needs: {},
      tenant: () => undefined,
      principal: () => ({ id: "alice" }),
    });
    const server = createServer((req, res) => {
      guard(req, res, (error?: unknown) => {
        res.writeHead(error === undefined ? 200 : 500);
        res.end(error === undefined ? "through" : "failed");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const response = await fetch(
        `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/x`,
        { headers: { authorization: `Bearer ${await f.sign(f.claims())}` } },
      );
      expect(response.status).toBe(500);
      expect(await response.text()).toBe("failed");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
