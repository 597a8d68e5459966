/**
 * A URL the router cannot read (a malformed percent escape, a path segment longer than a
 * parameter may be) is refused before any route runs. Threat: a person whose link to a sign-in
 * page was mangled (a mail client's rewriting, a truncated copy) is shown a raw JSON document
 * instead of the page every other failure of that route shows, with no way forward. Such a URL
 * aimed at a browser-facing route (a hosted flow's page, a federation endpoint) is answered as
 * that route answers its own failures, with the same security headers; the API, and a flow's
 * script endpoint, keep the problem document.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
});
afterAll(() => t.close());

const NAVIGATION = {
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "sec-fetch-dest": "document",
};
const FORM = "application/x-www-form-urlencoded";
const HEADERS = [
  "content-security-policy",
  "referrer-policy",
  "x-frame-options",
  "x-content-type-options",
  "cross-origin-resource-policy",
  "cross-origin-opener-policy",
  "cache-control",
] as const;

const securityHeaders = (response: LightMyRequestResponse) =>
  Object.fromEntries(HEADERS.map((name) => [name, response.headers[name]]));
const reference = (response: LightMyRequestResponse) =>
  /<code>([a-z_.]+)<\/code>/.exec(response.body)?.[1];

function expectPage(response: LightMyRequestResponse, what: string): void {
  expect(response.statusCode, what).toBe(400);
  expect(response.headers["content-type"], what).toBe("text/html; charset=utf-8");
  expect(response.body, what).toMatch(/^<!doctype html>/i);
}

function expectProblem(response: LightMyRequestResponse, what: string): void {
  expect(response.statusCode, what).toBe(400);
  expect(response.headers["content-type"], what).toMatch(/^application\/problem\+json/);
  expect(response.json<{ code: string }>().code, what).toBe("request.invalid");
}

describe("a malformed URL aimed at a hosted flow's page", () => {
  it("is answered with the flow's failure page and its security headers", async () => {
    // A failure page the route itself renders, for comparison: an unknown flow.
    const unknown = await t.server.inject({
      method: "GET",
      url: "/t/acme/flows/flw_unknown",
      headers: NAVIGATION,
    });
    expect(unknown.headers["content-type"]).toBe("text/html; charset=utf-8");
    for (const url of [
      "/t/acme/flows/%ZZ",
      "/t/acme/flows/flw_1%E0%A4%A",
      "/t/%ZZ/flows/flw_1",
      "/t/acme/flows/%ZZ?notice=idp.rejected",
      `/t/acme/flows/${"x".repeat(201)}`,
    ]) {
      for (const headers of [NAVIGATION, {}, { accept: "application/json" }]) {
        const response = await t.server.inject({ method: "GET", url, headers });
        const what = `GET ${url.slice(0, 40)} ${JSON.stringify(headers)}`;
        expectPage(response, what);
        expect(reference(response), what).toBe("flow.bad_request");
        expect(securityHeaders(response), what).toEqual(securityHeaders(unknown));
      }
    }
  });

  it("is answered with the page to a posted form too", async () => {
    const response = await t.server.inject({
      method: "POST",
      url: "/t/acme/flows/%ZZ",
      headers: { ...NAVIGATION, "content-type": FORM },
      payload: "action=continue&csrf=x",
    });
    expectPage(response, "POST");
    expect(reference(response)).toBe("flow.bad_request");
  });

  it("keeps the problem document for the page's script (WebAuthn options)", async () => {
    const response = await t.server.inject({
      method: "POST",
      url: "/t/acme/flows/%ZZ/webauthn/options",
      headers: { "content-type": "application/json", "x-csrf-token": "x" },
      payload: '{"purpose":"authentication"}',
    });
    expectProblem(response, "options");
  });
});

describe("a malformed URL aimed at a federation endpoint", () => {
  it("is answered with the federation's explanation page and its security headers", async () => {
    const unknown = await t.server.inject({
      method: "GET",
      url: "/t/acme/idps/nope/start",
      headers: NAVIGATION,
    });
    expect(unknown.headers["content-type"]).toBe("text/html; charset=utf-8");
    for (const [method, url] of [
      ["GET", "/t/acme/idps/%ZZ/start?return_to=https%3A%2F%2Fapp.example%2F"],
      ["GET", "/t/acme/idps/corp%E0%A4%A/oidc/callback?code=c&state=s"],
      ["GET", "/t/acme/idps/%ZZ/saml/metadata"],
      ["GET", "/t/acme/idps/%ZZ/saml/complete?answer=a"],
      ["POST", "/t/acme/idps/%ZZ/saml/acs"],
    ] as const) {
      const response = await t.server.inject({
        method,
        url,
        headers: { ...NAVIGATION, ...(method === "POST" ? { "content-type": FORM } : {}) },
        ...(method === "POST" ? { payload: "SAMLResponse=x" } : {}),
      });
      const what = `${method} ${url}`;
      expectPage(response, what);
      expect(reference(response), what).toBe("request.invalid");
      expect(response.body, what).toContain("percent-encoding is malformed");
      expect(securityHeaders(response), what).toEqual(securityHeaders(unknown));
    }
  });

  it("keeps the problem document for a client that asks for JSON", async () => {
    const response = await t.server.inject({
      method: "GET",
      url: "/t/acme/idps/%ZZ/start",
      headers: { accept: "application/json" },
    });
    expectProblem(response, "federation JSON");
  });
});

describe("a malformed URL aimed at the API", () => {
  it("is answered with a problem document, whatever the client asks for", async () => {
    for (const url of ["/v1/tenants/%ZZ", "/v1/tenants/acme/flows/%ZZ", "/%ZZ", "/t/%ZZ"]) {
      for (const headers of [NAVIGATION, {}]) {
        const response = await t.server.inject({
          method: "GET",
          url,
          headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
        });
        expectProblem(response, `GET ${url}`);
      }
    }
  });
});
