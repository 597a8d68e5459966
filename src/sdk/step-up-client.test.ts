import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exchangeCode } from "./exchange-code.js";
import { startStepUp } from "./start-step-up.js";
import { TenantMfaApiError, type TenantMfaClient } from "./tenant-mfa-client.js";
import { openFakeFlowApi, type FakeFlowApi } from "./test-support/fake-flow-api.js";

// Threat: a step-up that asks the server for less than the action needs, an API key sent where it
// should not go, a flow URL the browser should never be sent to, or a server refusal mistaken for
// success. The API is a real HTTP server on loopback speaking the flow contract.
let api: FakeFlowApi;
let client: TenantMfaClient;
beforeAll(async () => {
  api = await openFakeFlowApi();
  client = { baseUrl: api.baseUrl, apiKey: api.apiKey };
});
afterAll(() => api.close());
beforeEach(() => {
  api.received.length = 0;
});

const refusal = async (promise: Promise<unknown>) => {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TenantMfaApiError);
  return error as TenantMfaApiError;
};

describe("startStepUp", () => {
  it("creates a flow with the contract's body and returns where to send the browser", async () => {
    const started = await startStepUp(client, {
      tenant: "acme",
      principal: { id: "alice", population: "direct" },
      returnTo: "https://platform.test/mfa/return",
      state: "s-123",
      stepUp: { minAal: 2, phishingResistant: true, maxAgeSeconds: 300 },
      verified: [{ method: "password", source: "platform", at: "2026-11-23T11:59:00.000Z" }],
      audience: "platform-web",
    });
    expect(started).toEqual({
      flow: "flw_000001",
      url: expect.stringMatching(
        /^https:\/\/mfa\.test\/t\/acme\/flows\/flw_000001\?open=[\w-]{32}$/,
      ),
      expiresAt: "2026-11-23T12:10:00.000Z",
    });
    expect(api.received).toEqual([
      {
        method: "POST",
        path: "/v1/tenants/acme/flows",
        authorization: `Bearer ${api.apiKey}`,
        contentType: "application/json",
        body: {
          principal: { id: "alice", population: "direct" },
          return_to: "https://platform.test/mfa/return",
          state: "s-123",
          step_up: { minAal: 2, phishingResistant: true, maxAgeSeconds: 300 },
          verified: [{ method: "password", source: "platform", at: "2026-11-23T11:59:00.000Z" }],
          audience: "platform-web",
        },
      },
    ]);
  });

  it("sends only what was given, and escapes the tenant in the path", async () => {
    await startStepUp(client, {
      tenant: "a/../b",
      principal: { id: "alice" },
      returnTo: "https://platform.test/mfa/return",
    });
    expect(api.received[0]?.path).toBe("/v1/tenants/a%2F..%2Fb/flows");
    expect(api.received[0]?.body).toEqual({
      principal: { id: "alice" },
      return_to: "https://platform.test/mfa/return",
    });
  });

  it("keeps a base URL's path prefix, with or without a trailing slash", async () => {
    const request = {
      tenant: "acme",
      principal: { id: "alice" },
      returnTo: "https://platform.test/mfa/return",
    };
    await startStepUp({ ...client, baseUrl: `${api.baseUrl}/` }, request);
    // The fake API serves no prefix: it answers the prefixed path with a not_found problem.
    await refusal(startStepUp({ ...client, baseUrl: `${api.baseUrl}/mfa` }, request));
    await refusal(startStepUp({ ...client, baseUrl: `${api.baseUrl}/mfa/` }, request));
    expect(api.received.map((r) => r.path)).toEqual([
      "/v1/tenants/acme/flows",
      "/mfa/v1/tenants/acme/flows",
      "/mfa/v1/tenants/acme/flows",
    ]);
  });

  it("turns a problem answer into an error carrying the server's code, status and document", async () => {
    const error = await refusal(
      startStepUp(client, {
        tenant: "acme",
        principal: { id: "alice" },
        returnTo: "https://evil.test/steal",
      }),
    );
    expect(error.code).toBe("flow.return_to_not_allowed");
    expect(error.status).toBe(400);
    expect(error.problem).toMatchObject({ code: "flow.return_to_not_allowed", status: 400 });

    const unauthorised = await refusal(
      startStepUp(
        { ...client, apiKey: "wrong" },
        {
          tenant: "acme",
          principal: { id: "alice" },
          returnTo: "https://platform.test/mfa/return",
        },
      ),
    );
    expect(unauthorised.code).toBe("auth.invalid_credentials");
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.message).not.toContain("wrong");
  });

  it.each([
    ["a 201 without a url", 201, '{"flow":"flw_1","expires_at":"2026-11-23T12:10:00.000Z"}'],
    [
      "a javascript: url",
      201,
      '{"flow":"flw_1","url":"javascript:alert(1)","expires_at":"2026-11-23T12:10:00.000Z"}',
    ],
    ["an HTML error page", 502, "<html>Bad gateway</html>"],
    ["a 200 where 201 is promised", 200, '{"flow":"flw_1","url":"https://mfa.test/x"}'],
  ])("refuses %s as an unexpected response", async (_case, status, body) => {
    api.answerNextWith({ status, body });
    const error = await refusal(
      startStepUp(client, {
        tenant: "acme",
        principal: { id: "alice" },
        returnTo: "https://platform.test/mfa/return",
      }),
    );
    expect(error.code).toBe("api.unexpected_response");
  });

  it("reports an unreachable API as api.unreachable, without the API key in the message", async () => {
    const error = await refusal(
      startStepUp(
        { baseUrl: "http://127.0.0.1:1", apiKey: "tmfa_secret_key" },
        {
          tenant: "acme",
          principal: { id: "alice" },
          returnTo: "https://platform.test/mfa/return",
        },
      ),
    );
    expect(error.code).toBe("api.unreachable");
    expect(JSON.stringify({ message: error.message, problem: error.problem })).not.toContain(
      "tmfa_secret_key",
    );
  });

  it("uses the fetch the client supplies", async () => {
    const seen: string[] = [];
    await startStepUp(
      {
        ...client,
        fetch: (input, init) => {
          seen.push(input);
          return fetch(input, init);
        },
      },
      { tenant: "acme", principal: { id: "alice" }, returnTo: "https://platform.test/mfa/return" },
    );
    expect(seen).toEqual([`${api.baseUrl}/v1/tenants/acme/flows`]);
  });
});

describe("exchangeCode", () => {
  it("exchanges a code once for the token and its context", async () => {
    api.codes.set("code-1", { token: "header.payload.sig", tenant: "acme", principal: "alice" });
    await expect(exchangeCode(client, "code-1")).resolves.toEqual({
      token: "header.payload.sig",
      tokenType: "tenant-mfa-assurance+jwt",
      expiresIn: 300,
      tenant: "acme",
      principal: "alice",
      decision: "dec_000042",
    });
    expect(api.received[0]).toMatchObject({
      method: "POST",
      path: "/v1/flows/exchange",
      authorization: `Bearer ${api.apiKey}`,
      body: { code: "code-1" },
    });
    const replayed = await refusal(exchangeCode(client, "code-1"));
    expect(replayed.code).toBe("flow.code_invalid");
  });

  it("refuses to send an empty code", async () => {
    const error = await refusal(exchangeCode(client, ""));
    expect(error.code).toBe("api.invalid_code");
    expect(api.received).toHaveLength(0);
  });

  it("refuses an answer without a token", async () => {
    api.answerNextWith({ status: 200, body: '{"token_type":"x","expires_in":300}' });
    expect((await refusal(exchangeCode(client, "code-2"))).code).toBe("api.unexpected_response");
  });
});
