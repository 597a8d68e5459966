/**
 * Threat: a base URL answering with a body of any size (misrouted to a download, a proxy's page
 * without end, a compromised host): the SDK read tenant-mfa's answer whole, for as long as its
 * 10-second timeout lasted, into the platform's memory, at every step-up and every exchange.
 * Hundreds of megabytes in one call on loopback. The API's answers (a flow created, a code
 * exchanged, a problem) are a few kilobytes: one larger than 1 MiB is refused as soon as it is
 * seen to be (declared or read), as `api.unexpected_response`, without reading the rest.
 */
import { afterEach, describe, expect, it } from "vitest";
import { exchangeCode } from "./exchange-code.js";
import { startStepUp } from "./start-step-up.js";
import { TenantMfaApiError, type TenantMfaClient } from "./tenant-mfa-client.js";
import { openPaddedJsonServer, type PaddedJsonServer } from "./test-support/padded-json-server.js";

const MiB = 1024 * 1024;
const CREATED = {
  flow: "flw_1",
  url: "https://mfa.test/t/acme/flows/flw_1",
  expires_at: "2026-11-23T12:10:00.000Z",
};
const EXCHANGED = {
  token: "eyJ.a.b",
  token_type: "tenant-mfa-assurance+jwt",
  expires_in: 300,
  tenant: "acme",
  principal: "alice",
  decision: "dec_1",
};

let server: PaddedJsonServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const clientOf = (s: PaddedJsonServer): TenantMfaClient => ({
  baseUrl: s.baseUrl,
  apiKey: "tmfa_test_platform_service_key",
});

const stepUp = (client: TenantMfaClient) =>
  startStepUp(client, {
    tenant: "acme",
    principal: { id: "alice" },
    returnTo: "https://platform.test/mfa/return",
  });

/** What the call ended with, and how long it took. */
async function outcome(call: Promise<unknown>) {
  const started = Date.now();
  const error: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

describe("an answer larger than 1 MiB", () => {
  it.each([
    ["a flow created, streamed without a length", 201, CREATED, 200 * MiB, false],
    ["a flow created, declared in Content-Length", 201, CREATED, 200 * MiB, true],
    ["a flow created, padded just past 1 MiB", 201, CREATED, MiB, false],
    ["a flow created, without end", 201, CREATED, Infinity, false],
  ] as const)(
    "is refused as api.unexpected_response, promptly: %s",
    async (_case, status, document, padding, declareLength) => {
      server = await openPaddedJsonServer({ document, padding, status, declareLength });
      const { error, ms } = await outcome(stepUp(clientOf(server)));
      expect(error).toBeInstanceOf(TenantMfaApiError);
      expect(error).toMatchObject({ code: "api.unexpected_response", status: 201 });
      expect((error as Error).message).toContain("larger than 1 MiB");
      expect(ms).toBeLessThan(2000);
      expect(server.sent.bytes).toBeLessThan(50 * MiB);
    },
  );

  it("is refused at the exchange too, without end", async () => {
    server = await openPaddedJsonServer({ document: EXCHANGED, padding: Infinity });
    const { error, ms } = await outcome(exchangeCode(clientOf(server), "code-1"));
    expect(error).toMatchObject({ code: "api.unexpected_response", status: 200 });
    expect(ms).toBeLessThan(2000);
  });

  it("is refused when it is a problem, its code not taken for the server's", async () => {
    server = await openPaddedJsonServer({
      document: { status: 400, code: "flow.code_invalid", detail: "The code is unknown." },
      status: 400,
      contentType: "application/problem+json",
      padding: 200 * MiB,
    });
    const { error, ms } = await outcome(exchangeCode(clientOf(server), "code-1"));
    expect(error).toMatchObject({ code: "api.unexpected_response", status: 400 });
    expect(ms).toBeLessThan(2000);
  });
});

describe("an answer within 1 MiB", () => {
  it("is read as before, padded up to the limit", async () => {
    server = await openPaddedJsonServer({
      document: CREATED,
      status: 201,
      padding: MiB - JSON.stringify(CREATED).length,
      declareLength: true,
    });
    await expect(stepUp(clientOf(server))).resolves.toEqual({
      flow: "flw_1",
      url: CREATED.url,
      expiresAt: CREATED.expires_at,
    });
  });

  it("keeps the server's problem code", async () => {
    server = await openPaddedJsonServer({
      document: { status: 400, code: "flow.code_invalid", detail: "The code is unknown." },
      status: 400,
      contentType: "application/problem+json",
      padding: 512 * 1024,
    });
    const { error } = await outcome(exchangeCode(clientOf(server), "code-1"));
    expect(error).toMatchObject({ code: "flow.code_invalid", status: 400 });
  });
});
