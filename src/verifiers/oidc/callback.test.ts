/**
 * Threat: a callback that belongs to another sign-in (CSRF, injected code), comes from another
 * IdP (mix-up, RFC 9207), or carries the IdP's refusal, being taken for a successful sign-in; and
 * secrets leaking into the audit trail through rejection details.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OidcCallbackOptions } from "../../app/federation/protocols.js";
import {
  CODE_VERIFIER,
  createAttackBench,
  STATE,
  validClaims,
  type AttackBench,
} from "./test-support/attack-fixture.js";
import { startStubIdp, type StubIdp } from "./test-support/stub-idp.js";

let stub: StubIdp;
let bench: AttackBench;

beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(async () => {
  await stub.close();
});
beforeEach(async () => {
  stub.discoveryOverrides = {};
  stub.tokenAnswer = undefined;
  stub.nextIdToken = await stub.sign(validClaims(stub));
  // Long enough for a loaded machine's loopback round trip: the timeout itself is tested below
  // with a token endpoint that never answers.
  bench = createAttackBench(stub, { tokenTimeoutMs: 3_000 });
});

function callback(query: string, overrides: Partial<OidcCallbackOptions> = {}) {
  return bench.present(stub.nextIdToken, {
    callbackUrl: `${stub.redirectUri}?${query}`,
    ...overrides,
  });
}

describe("state and the IdP's answer", () => {
  it("completes a callback with the right state and code", async () => {
    const result = await callback(`code=abc&state=${STATE}`);
    expect(result.ok).toBe(true);
  });

  it.each([
    ["another state", "code=abc&state=forged"],
    ["no state", "code=abc"],
    ["state twice", `code=abc&state=${STATE}&state=forged`],
    ["an error with another state, checked first", "error=access_denied&state=forged"],
    ["an error with no state", "error=unmet_authentication_requirements"],
  ])("refuses %s (oidc.state_mismatch)", async (_name, query) => {
    const tokenRequests = stub.requests.token;
    const result = await callback(query);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.state_mismatch" } });
    expect(stub.requests.token).toBe(tokenRequests);
  });

  it("refuses every callback when the expected state is empty", async () => {
    const result = await callback("code=abc&state=", { expectedState: "" });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.state_mismatch" } });
  });

  it("refuses an unreadable callback URL", async () => {
    const result = await callback("", { callbackUrl: "not a url" });
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.state_mismatch" } });
  });

  it("reports access_denied as oidc.error_response with the IdP's value", async () => {
    const result = await callback(`error=access_denied&state=${STATE}`);
    expect(result).toEqual({
      ok: false,
      rejection: {
        code: "oidc.error_response",
        detail: "the IdP answered access_denied",
        error: "access_denied",
      },
    });
  });

  it("reports unmet_authentication_requirements with its own code", async () => {
    const result = await callback(`error=unmet_authentication_requirements&state=${STATE}`);
    expect(result).toMatchObject({
      ok: false,
      rejection: {
        code: "oidc.unmet_authentication_requirements",
        error: "unmet_authentication_requirements",
      },
    });
  });

  it("keeps REFEDS' older invalid_request as a plain error response: a failure, not reread", async () => {
    const result = await callback(`error=invalid_request&state=${STATE}`);
    expect(result).toMatchObject({
      ok: false,
      rejection: { code: "oidc.error_response", error: "invalid_request" },
    });
  });

  it("renders a hostile error value harmless in the detail", async () => {
    const result = await callback(
      `error=${encodeURIComponent("x\nforged audit line")}&state=${STATE}`,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.rejection.detail).not.toMatch(/\n/);
  });

  it.each([
    ["no code", `state=${STATE}`],
    ["an empty code", `code=&state=${STATE}`],
    ["two codes", `code=a&code=b&state=${STATE}`],
  ])("refuses %s (oidc.code_missing)", async (_name, query) => {
    const result = await callback(query);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.code_missing" } });
  });
});

describe("mix-up defence (RFC 9207)", () => {
  it("refuses an iss parameter naming another issuer", async () => {
    const result = await callback(
      `code=abc&state=${STATE}&iss=${encodeURIComponent("https://evil.example")}`,
    );
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.issuer_mismatch" } });
  });

  it("accepts the IdP's own iss parameter", async () => {
    const result = await callback(`code=abc&state=${STATE}&iss=${encodeURIComponent(stub.issuer)}`);
    expect(result.ok).toBe(true);
  });

  it("requires iss when the IdP's discovery promises it", async () => {
    stub.discoveryOverrides = { authorization_response_iss_parameter_supported: true };
    const result = await callback(`code=abc&state=${STATE}`);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.issuer_mismatch" } });
  });

  it.each([
    ["unmet_authentication_requirements", `error=unmet_authentication_requirements&state=${STATE}`],
    ["access_denied", `error=access_denied&state=${STATE}`],
  ])(
    "refuses an error response (%s) without iss when the IdP's discovery promises it: not this IdP's word",
    async (_error, query) => {
      stub.discoveryOverrides = { authorization_response_iss_parameter_supported: true };
      const result = await callback(query);
      expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.issuer_mismatch" } });
    },
  );

  it("refuses an error response naming another issuer", async () => {
    const result = await callback(
      `error=unmet_authentication_requirements&state=${STATE}&iss=${encodeURIComponent("https://evil.example")}`,
    );
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.issuer_mismatch" } });
  });

  it("reads the error of a response carrying the promised iss", async () => {
    stub.discoveryOverrides = { authorization_response_iss_parameter_supported: true };
    const result = await callback(
      `error=unmet_authentication_requirements&state=${STATE}&iss=${encodeURIComponent(stub.issuer)}`,
    );
    expect(result).toMatchObject({
      ok: false,
      rejection: { code: "oidc.unmet_authentication_requirements" },
    });
  });
});

describe("the token request", () => {
  it("authenticates with client_secret_basic and sends the PKCE verifier and redirect URI", async () => {
    expect((await callback(`code=abc&state=${STATE}`)).ok).toBe(true);
    const request = stub.lastTokenRequest;
    expect(request?.authorization).toBe(
      `Basic ${Buffer.from("client-a:secret-a").toString("base64")}`,
    );
    expect(Object.fromEntries(request?.form ?? [])).toEqual({
      grant_type: "authorization_code",
      code: "abc",
      redirect_uri: stub.redirectUri,
      code_verifier: CODE_VERIFIER,
    });
  });

  it("uses client_secret_post when that is all the IdP offers", async () => {
    stub.discoveryOverrides = { token_endpoint_auth_methods_supported: ["client_secret_post"] };
    expect((await callback(`code=abc&state=${STATE}`)).ok).toBe(true);
    const request = stub.lastTokenRequest;
    expect(request?.authorization).toBeUndefined();
    expect(request?.form.get("client_id")).toBe("client-a");
    expect(request?.form.get("client_secret")).toBe("secret-a");
  });

  it("refuses an IdP that offers no client secret method", async () => {
    stub.discoveryOverrides = { token_endpoint_auth_methods_supported: ["private_key_jwt"] };
    const result = await callback(`code=abc&state=${STATE}`);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.token_request_failed" } });
  });

  it("reports the IdP's refusal of the code with its error code only", async () => {
    stub.tokenAnswer = {
      status: 400,
      body: { error: "invalid_grant", error_description: "code abc was already used" },
    };
    const result = await callback(`code=abc&state=${STATE}`);
    expect(result).toEqual({
      ok: false,
      rejection: {
        code: "oidc.token_request_failed",
        detail: "token endpoint answered 400 (invalid_grant)",
      },
    });
  });

  it("refuses a token response without an ID token", async () => {
    stub.tokenAnswer = { status: 200, body: { access_token: "at", token_type: "Bearer" } };
    const result = await callback(`code=abc&state=${STATE}`);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.id_token_missing" } });
  });

  it("gives up on a token endpoint that does not answer in time", async () => {
    const hanging = createAttackBench(stub, {
      tokenTimeoutMs: 200,
      fetch: (url, init) =>
        url.endsWith("/token") ? new Promise<Response>(() => undefined) : fetch(url, init),
    });
    const result = await hanging.present(stub.nextIdToken);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.token_request_failed" } });
  });
});

describe("rejection details never carry a code, token or secret", () => {
  it("keeps them out of every detail", async () => {
    const code = "SECRET-CODE-123";
    const idToken = await stub.sign({ ...validClaims(stub), nonce: "wrong" });
    const cases: (() => Promise<unknown>)[] = [
      () => callback(`code=${code}&state=forged`),
      () => callback(`code=${code}&state=${STATE}`, { expectedNonce: "other" }),
      async () => {
        stub.tokenAnswer = {
          status: 400,
          body: { error: "invalid_grant", error_description: code },
        };
        return callback(`code=${code}&state=${STATE}`);
      },
      async () => {
        stub.tokenAnswer = undefined;
        stub.nextIdToken = idToken;
        return bench.present(idToken, {
          callbackUrl: `${stub.redirectUri}?code=${code}&state=${STATE}`,
        });
      },
    ];
    for (const run of cases) {
      const result = (await run()) as { ok: boolean; rejection?: { detail: string } };
      expect(result.ok).toBe(false);
      const detail = result.rejection?.detail ?? "";
      for (const secret of [code, stub.idp.clientSecret, idToken, idToken.split(".")[2] ?? "-"]) {
        expect(detail).not.toContain(secret);
      }
    }
  });
});
