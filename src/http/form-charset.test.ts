/**
 * Threat: a form body read in another encoding than the one its sender wrote it in. The SAML ACS
 * reads its form as UTF-8 whatever charset it declares; a form declared in another (`utf-16`,
 * `windows-1252`) would be read as fields its sender did not write. Such a form is refused before
 * the SAML response in it is read, 415 request.unsupported_media_type, answered as the ACS answers
 * its failures: an explanation page, or a problem document to a client that asks for JSON. A
 * form that declares UTF-8 (any WHATWG label of it) or no charset reaches the verifier. The hosted
 * flows' form is pinned in src/http/routes/hosted-flow-routes.test.ts.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestIdp } from "../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";

const FORM = "application/x-www-form-urlencoded";
const ACS = "/t/acme/idps/corp/saml/acs";

let t: TestServer;
beforeAll(async () => {
  t = await openTestServer();
  const created = await t.call("POST", "/v1/tenants", {
    key: t.adminKey,
    body: { id: "acme", name: "Acme", returnUrls: ["https://app.acme.example/signed-in"] },
  });
  expect(created.statusCode, created.body).toBe(201);
  const idp = new TestIdp({ entityId: "https://idp.acme.example/saml" });
  const saml = await t.call("PUT", "/v1/tenants/acme/idps/corp", {
    key: t.adminKey,
    body: { protocol: "saml", saml: { metadataXml: idp.metadataXml(), allowUnsolicited: true } },
  });
  expect(saml.statusCode, saml.body).toBe(201);
});
afterAll(() => t.close());

function postAcs(type: string, accept = "text/html"): Promise<LightMyRequestResponse> {
  return t.server.inject({
    method: "POST",
    url: ACS,
    headers: { "content-type": type, accept },
    // Not a SAML response: the verifier refuses it (federation.rejected) if it gets to read it.
    payload: "SAMLResponse=PHgvPg%3D%3D",
  });
}

describe("the charset of the SAML ACS form", () => {
  it.each([
    `${FORM}; charset=utf-16`,
    `${FORM};charset=UTF-16LE`,
    `${FORM}; charset="windows-1252"`,
    `${FORM}; charset=latin1`,
    `${FORM}; charset=utf-8; charset=latin1`,
    `${FORM}; charset=`,
  ])("refuses a form declared as %s with the explanation page, unread", async (type) => {
    const page = await postAcs(type);
    expect(page.statusCode, page.body).toBe(415);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain("<code>request.unsupported_media_type</code>");
    expect(page.body).toContain("UTF-8");

    const problem = await postAcs(type, "application/json");
    expect(problem.statusCode).toBe(415);
    expect(problem.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(problem.json<{ code: string }>().code).toBe("request.unsupported_media_type");
  });

  it.each([
    FORM,
    `${FORM}; charset=utf-8`,
    `${FORM}; charset="UTF-8"`,
    `${FORM}; charset=utf8`,
    `${FORM}; charset=unicode-1-1-utf-8`,
  ])("reads a form declared as %s (the verifier answers)", async (type) => {
    const page = await postAcs(type);
    expect(page.statusCode, page.body).toBe(400);
    expect(page.body).toContain("<code>federation.rejected</code>");
  });
});
