// Threat: a registration the API accepts but that no SAML request can carry turns every start at
// that IdP into a 500 (DESIGN invariant 8). The AuthnRequest writes the registration's request
// values and its SSO URL into XML, and XML 1.0 cannot carry most C0 controls, U+FFFE or U+FFFF,
// not even as character references (XML 1.0 §2.2): a `request.mfa` value or an `ssoUrl` query
// holding U+0001 was registered, and the start threw. Such a registration is refused where it
// enters (422 idp.invalid): request and mapping values (for OIDC too: no IdP's answer can match
// them), and the whole SSO URL, whether given or read from metadata, not only its part before `?`.
// End to end through the HTTP server, against the samlify test IdP.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { must } from "../../http/test-support/saml-federation.js";

const RETURN_TO = "https://app.initech.example/signed-in";
let t: TestServer;
let idp: TestIdp;

beforeEach(async () => {
  t = await openTestServer({ bodyLimitBytes: 256 * 1024 });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  must(
    await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: "initech", name: "initech", returnUrls: [RETURN_TO] },
    }),
    201,
  );
  must(
    await t.call("PUT", "/v1/tenants/initech/policy", {
      key: t.adminKey,
      headers: { "if-match": '"1"' },
      body: { policy: { posture: "idp_mfa" }, rationale: "our IdP" },
    }),
    200,
  );
});
afterEach(async () => {
  await t.close();
});

const register = (body: Record<string, unknown>) =>
  t.call("PUT", "/v1/tenants/initech/idps/corp", { key: t.adminKey, body });

const samlBy = (saml: Record<string, unknown>) => ({
  protocol: "saml",
  saml: { entityId: idp.entityId, signingCertificates: [idp.keyPair.certificatePem], ...saml },
});

function expectRefused(res: Awaited<ReturnType<typeof register>>): void {
  expect(res.statusCode, res.body).toBe(422);
  expect(res.json()).toMatchObject({ code: "idp.invalid" });
}

const ILLEGAL = [
  ["U+0001", "\u0001"],
  ["U+000B", "\u000b"],
  ["U+001F", "\u001f"],
  ["U+FFFE", "\ufffe"],
  ["U+FFFF", "\uffff"],
] as const;

describe("values XML cannot carry are refused at registration", () => {
  it.each(ILLEGAL)("refuses a request.mfa value holding %s", async (_name, c) => {
    expectRefused(
      await register({
        ...samlBy({ ssoUrl: idp.ssoUrl }),
        request: { mfa: [`urn:acme:mfa${c}`] },
      }),
    );
  });

  it.each([
    ["request.phishingResistant", { request: { phishingResistant: ["urn:acme:hwk\u0001"] } }],
    ["mapping.mfaContexts", { mapping: { mfaContexts: ["urn:acme:mfa\u0001"] } }],
    ["mapping.mfaAmr", { mapping: { mfaAmr: ["mfa\ufffe"] } }],
  ])("refuses a %s value holding a character XML cannot carry", async (_where, extra) => {
    expectRefused(await register({ ...samlBy({ ssoUrl: idp.ssoUrl }), ...extra }));
  });

  it("refuses such a request value for an OIDC IdP too", async () => {
    expectRefused(
      await register({
        protocol: "oidc",
        oidc: { issuer: "https://idp.corp.example", clientId: "c", clientSecret: "s3cret" },
        request: { mfa: ["urn:acme:mfa\u0001"] },
      }),
    );
  });

  it.each([
    ["a control character in its query", "https://idp.corp.example/sso?tenant=\u0001"],
    ["U+FFFF in its query", "https://idp.corp.example/sso?tenant=\uffff"],
    ["a line break in its query", "https://idp.corp.example/sso?tenant=a\nb"],
    ["a space in its query", "https://idp.corp.example/sso?tenant=a b"],
    ["a fragment after its query", "https://idp.corp.example/sso?tenant=a#frag"],
    ["a control character before its query", "https://idp.corp.example/s\u0001so?tenant=a"],
  ])("refuses an ssoUrl with %s", async (_name, ssoUrl) => {
    expectRefused(await register(samlBy({ ssoUrl })));
  });

  it("refuses metadata whose SSO location holds a character XML cannot carry", async () => {
    const metadataXml = idp
      .metadataXml()
      .replace(`Location="${idp.ssoUrl}"`, `Location="${idp.ssoUrl}?tenant=&#1;"`);
    expect(metadataXml).toContain("&#1;");
    const res = await register({ protocol: "saml", saml: { metadataXml } });
    expectRefused(res);
    // The metadata parses: it is its SSO location that is refused.
    expect(res.json()).toMatchObject({ detail: expect.stringContaining("single sign-on URL") });
  });

  it("registers an ssoUrl with a plain query and starts there, the query kept", async () => {
    must(await register(samlBy({ ssoUrl: `${idp.ssoUrl}?tenant=initech` })), 201);
    const res = await t.call(
      "GET",
      `/t/initech/idps/corp/start?return_to=${encodeURIComponent(RETURN_TO)}`,
    );
    expect(res.statusCode, res.body).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(location.searchParams.get("tenant")).toBe("initech");
    expect(location.searchParams.get("SAMLRequest")).not.toBeNull();
  });
});
