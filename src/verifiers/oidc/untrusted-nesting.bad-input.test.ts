/**
 * Threat: an IdP answers JSON nested deeper than the stack (thousands of levels, which JSON.parse
 * reads) where a value is quoted in a refusal's detail: the issuer its discovery document names,
 * the `error` of its token endpoint, the `typ` of its ID token. Writing such a value for the
 * detail overflowed the stack, and the verifier threw instead of refusing (a 500 at the start
 * and the callback, DESIGN invariant 8); the refresh a flow page starts for an aged discovery
 * document, which nobody awaits, left the RangeError as an unhandled rejection, which ends a
 * Node.js process. An IdP's JSON answer, and an ID token's header, nested deeper than a JSON
 * request body may be (32 levels, src/app/json-depth.ts) are refused as they arrive.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { OidcAuthorizationOptions, OidcIdpSettings } from "../../app/federation/protocols.js";
import { createOidcProtocol } from "./index.js";
import { listenOnLoopback, type LoopbackServer } from "./test-support/loopback-server.js";

const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
const DEEP = nested(10_000);
const NOW = new Date("2030-06-01T12:00:00Z");

let server: LoopbackServer;
let issuer = "";
/** What the IdP answers, as raw JSON text: its discovery document's issuer, and its token endpoint. */
const answers = { issuer: "", token: { status: 200, body: "{}" }, discoveryRequests: 0 };

beforeAll(async () => {
  server = await listenOnLoopback((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    res.setHeader("content-type", "application/json");
    if (path === "/idp/.well-known/openid-configuration") {
      answers.discoveryRequests += 1;
      res.end(
        `{"issuer":${answers.issuer},"authorization_endpoint":"${issuer}/authorize",` +
          `"token_endpoint":"${issuer}/token","jwks_uri":"${issuer}/jwks"}`,
      );
    } else if (path === "/idp/token") {
      res.statusCode = answers.token.status;
      res.end(answers.token.body);
    } else {
      res.statusCode = 404;
      res.end("{}");
    }
  });
  issuer = `${server.origin}/idp`;
  answers.issuer = JSON.stringify(issuer);
});
afterAll(async () => {
  await server.close();
});

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on("unhandledRejection", onUnhandled));
afterAll(() => process.off("unhandledRejection", onUnhandled));
afterEach(() => {
  answers.issuer = JSON.stringify(issuer);
  answers.token = { status: 200, body: "{}" };
});

const idp = (): OidcIdpSettings => ({
  issuer,
  clientId: "client",
  clientSecret: "secret",
  scopes: ["openid"],
  idTokenAlgorithms: ["RS256"],
  subjectClaim: "sub",
});

const authorization: OidcAuthorizationOptions = {
  forceLogin: false,
  redirectUri: "https://mfa.example/cb",
  state: "state",
  nonce: "nonce",
  codeVerifier: "v".repeat(43),
  acrValues: [],
};

function callback(rp: ReturnType<typeof createOidcProtocol>) {
  return rp.completeCallback(idp(), {
    callbackUrl: "https://mfa.example/cb?code=the-code&state=state",
    redirectUri: "https://mfa.example/cb",
    expectedState: "state",
    expectedNonce: "nonce",
    codeVerifier: "v".repeat(43),
    now: NOW,
    clockSkewSeconds: 60,
  });
}

describe("values nested deeper than the stack, quoted in a refusal", () => {
  it("refuses a discovery document naming such an issuer as oidc.discovery_failed", async () => {
    answers.issuer = DEEP;
    const rp = createOidcProtocol({ allowHttp: true });
    await expect(rp.authorizationUrl(idp(), authorization)).resolves.toMatchObject({
      ok: false,
      rejection: { code: "oidc.discovery_failed" },
    });
  });

  it("leaves no unhandled rejection when a page's refresh of an aged document meets one", async () => {
    answers.issuer = JSON.stringify(issuer);
    const clock = { now: NOW.getTime() };
    const rp = createOidcProtocol({ allowHttp: true, clock: () => clock.now });
    expect((await rp.authorizationUrl(idp(), authorization)).ok).toBe(true);
    clock.now += 2 * 3_600_000;
    answers.issuer = DEEP;
    const asked = answers.discoveryRequests;
    expect(await rp.authorizationEndpoint(issuer)).toBe(`${issuer}/authorize`);
    await expect.poll(() => answers.discoveryRequests).toBe(asked + 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
  });

  it("refuses a token endpoint's error of such a value as oidc.token_request_failed", async () => {
    answers.token = { status: 400, body: `{"error":${DEEP}}` };
    await expect(callback(createOidcProtocol({ allowHttp: true }))).resolves.toMatchObject({
      ok: false,
      rejection: { code: "oidc.token_request_failed" },
    });
  });

  it("refuses an ID token whose header holds such a value as oidc.id_token_malformed", async () => {
    const segment = (text: string) => Buffer.from(text).toString("base64url");
    // As deep as an ID token of at most 16 KiB holds, and deeper than the stack.
    const idToken = `${segment(`{"alg":"RS256","typ":${nested(6_000)}}`)}.${segment("{}")}.${segment("signature")}`;
    answers.token = { status: 200, body: JSON.stringify({ id_token: idToken }) };
    await expect(callback(createOidcProtocol({ allowHttp: true }))).resolves.toMatchObject({
      ok: false,
      rejection: { code: "oidc.id_token_malformed" },
    });
  });
});
