// Threat: a tenant administrator stalls the whole service with one IdP registration (DESIGN
// invariant 8). Every registered signing certificate is tried on a response that none of them
// signs, and each try has xml-crypto parse the whole response again and digest its assertion: a
// forged response posted by anyone to the tenant's ACS cost one such pass per certificate, on the
// event loop. Certificates given as `signingCertificates` were capped at 5, but those read from
// `metadataXml` were not: 256 KiB of metadata holds some 450 P-256 certificates, and each ACS post
// then blocked every tenant's requests for seconds (about 4 s for a 256 KiB response, measured).
// The cap now holds for the registration, wherever its certificates come from (422 idp.invalid).
// End to end through the HTTP server.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import { must } from "../../http/test-support/saml-federation.js";
import { generateTestEcKeyPair } from "../../verifiers/saml/test-support/certificate.js";

const ENTITY_ID = "https://idp.corp.example/saml";
let t: TestServer;

beforeEach(async () => {
  t = await openTestServer({ bodyLimitBytes: 512 * 1024 });
  must(
    await t.call("POST", "/v1/tenants", {
      key: t.adminKey,
      body: { id: "initech", name: "initech", returnUrls: ["https://app.initech.example/in"] },
    }),
    201,
  );
});
afterEach(async () => {
  await t.close();
});

/** IdP metadata naming `count` distinct P-256 signing certificates. */
function metadataWith(count: number): string {
  const descriptors = Array.from(
    { length: count },
    (_, i) =>
      `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${generateTestEcKeyPair(`key ${String(i)}`).certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
  ).join("");
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${ENTITY_ID}">` +
    `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${descriptors}` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${ENTITY_ID}/sso"/>` +
    `</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

const register = (metadataXml: string) =>
  t.call("PUT", "/v1/tenants/initech/idps/corp", {
    key: t.adminKey,
    body: { protocol: "saml", saml: { metadataXml } },
  });

describe("signing certificates read from IdP metadata", () => {
  it("refuses metadata naming hundreds of them, as it refuses six given directly", async () => {
    const metadataXml = metadataWith(400);
    expect(Buffer.byteLength(metadataXml)).toBeLessThan(256 * 1024);
    const res = await register(metadataXml);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: "idp.invalid",
      detail: expect.stringContaining("at most 5 signing certificates"),
    });
  });

  it("refuses a sixth, and accepts five", async () => {
    const six = await register(metadataWith(6));
    expect(six.statusCode).toBe(422);
    expect(six.json()).toMatchObject({ code: "idp.invalid" });
    const five = await register(metadataWith(5));
    expect(five.statusCode, five.body).toBe(201);
    expect(
      five.json<{ saml: { signingCertificates: string[] } }>().saml.signingCertificates,
    ).toHaveLength(5);
  });
});
