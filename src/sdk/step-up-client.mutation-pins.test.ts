/**
 * The API client's checks, pinned where a mutation survey of src/sdk found them unpinned. Each
 * test fails with its mutant applied: the flow URL's scheme tested at its start (tested anywhere,
 * `javascript:…//https://…` was handed out as where to send the browser), redirects refused (a
 * redirect was followed, re-posting the one-time code to wherever it pointed), and an answer of
 * another status than the call's refused (a flow "created" by a 200 was taken as created).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { exchangeCode } from "./exchange-code.js";
import { startStepUp } from "./start-step-up.js";
import { TenantMfaApiError, type TenantMfaClient } from "./tenant-mfa-client.js";

const API_KEY = "tmfa_secret_platform_key";
const request = {
  tenant: "acme",
  principal: { id: "alice" },
  returnTo: "https://platform.test/mfa/return",
};

/** A client whose fetch answers every call with `status` and `body`. */
const answering = (status: number, body: unknown): TenantMfaClient => ({
  baseUrl: "https://mfa.test",
  apiKey: API_KEY,
  fetch: () =>
    Promise.resolve(
      new Response(JSON.stringify(body), {
        status,
        headers: { "content-type": "application/json" },
      }),
    ),
});

const refusal = async (promise: Promise<unknown>) => {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TenantMfaApiError);
  return error as TenantMfaApiError;
};

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

const listen = async (handle: (req: IncomingMessage, body: string) => [number, object]) => {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const [status, headers] = handle(req, body);
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify({ token: "t", token_type: "Bearer", expires_in: 300 }));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
};

describe("startStepUp hands out only an http(s) flow URL", () => {
  it.each([
    "javascript:alert(document.cookie)//https://mfa.test/t/acme/flows/flw_1",
    "data:text/html,<script>alert(1)</script>#http://mfa.test",
  ])("refuses %s though it holds an http(s) URL", async (url) => {
    const client = answering(201, { flow: "flw_1", url, expires_at: "2026-11-23T12:10:00.000Z" });
    expect((await refusal(startStepUp(client, request))).code).toBe("api.unexpected_response");
  });
});

describe("the client takes only the answer its call promises", () => {
  it("refuses a flow answered with 200 rather than 201 (created), whatever its body", async () => {
    const client = answering(200, {
      flow: "flw_1",
      url: "https://mfa.test/t/acme/flows/flw_1",
      expires_at: "2026-11-23T12:10:00.000Z",
    });
    const error = await refusal(startStepUp(client, request));
    expect(error.code).toBe("api.unexpected_response");
    expect(error.status).toBe(200);
  });

  it("follows no redirect: the one-time code never reaches where an answer points", async () => {
    const elsewhere: string[] = [];
    const target = await listen((req, body) => {
      elsewhere.push(`${req.method ?? ""} ${req.url ?? ""} ${body}`);
      return [200, {}];
    });
    const baseUrl = await listen(() => [307, { location: `${target}/v1/flows/exchange` }]);
    const error = await refusal(exchangeCode({ baseUrl, apiKey: API_KEY }, "code_1"));
    expect(error.code).toBe("api.unreachable");
    expect(elsewhere).toEqual([]);
  });
});
