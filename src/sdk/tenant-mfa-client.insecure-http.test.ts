/**
 * Threat: the platform's API key sent in clear. The SDK put the key in the `Authorization` header
 * of every call to `baseUrl`, whatever its scheme: a base URL of `http://mfa.internal.example`
 * (a typo, a copied example, an internal name thought safe) sent a `platform_service` key, the
 * principal and the step-up over plain HTTP to anyone on the path, who could then create flows
 * and exchange codes as the platform. Plain http is refused before anything is sent, unless the
 * caller opts in (`allowInsecureHttp: true`); loopback (`localhost`, 127.0.0.0/8, `::1`), which
 * never leaves the machine, stays allowed.
 */
import { describe, expect, it } from "vitest";
import { exchangeCode } from "./exchange-code.js";
import { startStepUp } from "./start-step-up.js";
import { TenantMfaApiError, type TenantMfaClient } from "./tenant-mfa-client.js";

const API_KEY = "tmfa_secret_platform_key";

/** A client whose fetch records where it was asked to go and answers a created flow. */
function recordingClient(baseUrl: string, more: Partial<TenantMfaClient> = {}) {
  const sent: string[] = [];
  const client: TenantMfaClient = {
    baseUrl,
    apiKey: API_KEY,
    fetch: (input) => {
      sent.push(input);
      return Promise.resolve(
        new Response(
          JSON.stringify({
            flow: "flw_1",
            url: "https://mfa.test/t/acme/flows/flw_1",
            expires_at: "2026-11-23T12:10:00.000Z",
          }),
          { status: 201, headers: { "content-type": "application/json" } },
        ),
      );
    },
    ...more,
  };
  return { client, sent };
}

const stepUp = (client: TenantMfaClient) =>
  startStepUp(client, {
    tenant: "acme",
    principal: { id: "alice" },
    returnTo: "https://platform.test/mfa/return",
  });

const refusalOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe("a plain http base URL off loopback", () => {
  it.each([
    "http://mfa.internal.example.com",
    "http://mfa.internal.example.com:8080/mfa/",
    "http://10.0.0.5:8080",
    "http://[fd00::5]:8080",
    // Names that merely start or end like loopback are not loopback.
    "http://localhost.attacker.example",
    "http://127.0.0.1.nip.io",
    "HTTP://MFA.EXAMPLE.COM",
  ])("%s is refused, and nothing is sent", async (baseUrl) => {
    const { client, sent } = recordingClient(baseUrl);
    for (const call of [stepUp(client), exchangeCode(client, "code-1")]) {
      const error = await refusalOf(call);
      expect(error).toBeInstanceOf(TenantMfaApiError);
      expect(error).toMatchObject({ code: "api.insecure_base_url" });
      expect((error as Error).message).toContain("allowInsecureHttp");
      expect((error as Error).message).not.toContain(API_KEY);
    }
    expect(sent).toEqual([]);
  });

  it("is used when the caller opts in with allowInsecureHttp", async () => {
    const { client, sent } = recordingClient("http://mfa.internal.example.com", {
      allowInsecureHttp: true,
    });
    await expect(stepUp(client)).resolves.toMatchObject({ flow: "flw_1" });
    expect(sent).toEqual(["http://mfa.internal.example.com/v1/tenants/acme/flows"]);
  });

  it("is refused when allowInsecureHttp is anything but true", async () => {
    const { client, sent } = recordingClient("http://mfa.internal.example.com", {
      allowInsecureHttp: "yes" as unknown as boolean,
    });
    expect(await refusalOf(stepUp(client))).toMatchObject({ code: "api.insecure_base_url" });
    expect(sent).toEqual([]);
  });
});

describe("base URLs that stay allowed", () => {
  it.each([
    [
      "https",
      "https://mfa.internal.example.com",
      "https://mfa.internal.example.com/v1/tenants/acme/flows",
    ],
    ["localhost", "http://localhost:8080", "http://localhost:8080/v1/tenants/acme/flows"],
    [
      "LOCALHOST in capitals",
      "http://LOCALHOST:8080",
      "http://localhost:8080/v1/tenants/acme/flows",
    ],
    ["127.0.0.1", "http://127.0.0.1:8080/mfa/", "http://127.0.0.1:8080/mfa/v1/tenants/acme/flows"],
    [
      "another address of 127.0.0.0/8",
      "http://127.1.2.3",
      "http://127.1.2.3/v1/tenants/acme/flows",
    ],
    ["::1", "http://[::1]:8080", "http://[::1]:8080/v1/tenants/acme/flows"],
  ])("%s", async (_case, baseUrl, expected) => {
    const { client, sent } = recordingClient(baseUrl);
    await expect(stepUp(client)).resolves.toMatchObject({ flow: "flw_1" });
    expect(sent).toEqual([expected]);
  });
});
