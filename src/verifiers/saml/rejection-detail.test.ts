/**
 * Threat: a rejection's `detail` goes into the tenant's audit chain (`federation.rejected`). It
 * used to copy the local name of an unexpected element inside <ds:Signature> without any bound,
 * so one unauthenticated POST to the ACS wrote ~150 KB of the sender's text into the audit log.
 * Details name what was wrong in words of their own, and are cut to 200 characters whatever
 * they hold.
 */
import { describe, expect, it } from "vitest";
import { openTestServer } from "../../http/test-support/open-test-server.js";
import { auditOf } from "../../http/test-support/oidc-federation.js";
import { registerSamlTenant } from "../../http/test-support/saml-federation.js";
import { outcomeOf, protocol, SP, testIdp, verification } from "./test-support/scenario.js";

const LONG_NAME = `Injected${"A".repeat(150_000)}`;
const FORGED = [
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"',
  ' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"',
  ' Version="2.0" ID="_r1"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>',
  '</samlp:Status><saml:Assertion ID="_a1" Version="2.0"><ds:Signature><ds:SignedInfo/>',
  `<ds:SignatureValue>AA==</ds:SignatureValue><${LONG_NAME}/></ds:Signature></saml:Assertion></samlp:Response>`,
].join("");
const encoded = Buffer.from(FORGED, "utf8").toString("base64");

describe("rejection details stay short and free of the posted content", () => {
  it("the verifier's detail does not copy an element name of the response", async () => {
    expect(await outcomeOf(encoded)).toBe("saml.signature_wrapping");
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(encoded));
    expect(result.ok).toBe(false);
    const detail = result.ok ? "" : result.rejection.detail;
    expect(detail).not.toContain("AAAAAAAAAA");
    expect(detail.length).toBeLessThan(300);
  });

  it("one unauthenticated ACS post does not write 150 KB of its content into the audit chain", async () => {
    const t = await openTestServer();
    try {
      await registerSamlTenant(t, testIdp(), "acme", {
        posture: "idp_mfa",
        returnUrls: ["https://app.acme.example/signed-in"],
      });
      const auditor = await t.key(["tenant_auditor"], ["acme"]);
      const posted = await t.call("POST", "/t/acme/idps/corp/saml/acs", {
        body: new URLSearchParams({ SAMLResponse: encoded }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(posted.statusCode).toBe(400);
      const [event] = await auditOf(t, auditor, "acme", "federation.rejected");
      expect(event?.payload["reason"]).toBe("saml.signature_wrapping");
      expect(JSON.stringify(event?.payload)).not.toContain("AAAAAAAAAA");
      expect(JSON.stringify(event?.payload).length).toBeLessThan(1000);
    } finally {
      await t.close();
    }
  });
});
