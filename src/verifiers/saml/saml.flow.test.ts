/**
 * Threat: evidence assumed rather than verified (seed 004, REFEDS R3). The real flow against a
 * samlify IdP: our AuthnRequest goes out, the IdP signs a response, our verifier reads what the
 * signed assertion says — MFA or password only — and nothing else.
 */
import { inflateRawSync } from "node:zlib";
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { NOW, REQUEST_ID, SP, protocol, testIdp, verification } from "./test-support/scenario.js";
import { PASSWORD_PROTECTED_TRANSPORT, REFEDS_MFA } from "./test-support/test-idp.js";

const PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion";

function requestOptions(overrides: { classRefs?: string[]; forceAuthn?: boolean } = {}) {
  return {
    requestId: REQUEST_ID,
    authnContextClassRefs: overrides.classRefs ?? [REFEDS_MFA],
    forceAuthn: overrides.forceAuthn ?? true,
    relayState: "flow_01HZX",
    issueInstant: NOW,
  };
}

function decodeRequest(url: string) {
  const encoded = new URL(url).searchParams.get("SAMLRequest");
  const xml = inflateRawSync(Buffer.from(encoded ?? "", "base64")).toString("utf8");
  return { xml, doc: new DOMParser().parseFromString(xml, "text/xml") };
}

describe("AuthnRequest over HTTP-Redirect", () => {
  it("decodes to an AuthnRequest asking exactly for MFA, forced, with our ID and ACS", () => {
    const idp = testIdp();
    const url = protocol.authnRequestUrl(SP, idp.settings(), requestOptions());
    expect(url.startsWith(`${idp.ssoUrl}?SAMLRequest=`)).toBe(true);
    expect(new URL(url).searchParams.get("RelayState")).toBe("flow_01HZX");
    const { doc } = decodeRequest(url);
    const request = doc.documentElement!;
    expect(request.namespaceURI).toBe(PROTOCOL_NS);
    expect(request.localName).toBe("AuthnRequest");
    expect(request.getAttribute("ID")).toBe(REQUEST_ID);
    expect(request.getAttribute("Version")).toBe("2.0");
    expect(request.getAttribute("IssueInstant")).toBe(NOW.toISOString());
    expect(request.getAttribute("Destination")).toBe(idp.ssoUrl);
    expect(request.getAttribute("AssertionConsumerServiceURL")).toBe(SP.acsUrl);
    expect(request.getAttribute("ProtocolBinding")).toBe(
      "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
    );
    expect(request.getAttribute("ForceAuthn")).toBe("true");
    expect(doc.getElementsByTagNameNS(ASSERTION_NS, "Issuer")[0]?.textContent).toBe(SP.entityId);
    const requested = doc.getElementsByTagNameNS(PROTOCOL_NS, "RequestedAuthnContext");
    expect(requested.length).toBe(1);
    expect(requested[0]?.getAttribute("Comparison")).toBe("exact");
    const refs = Array.from(doc.getElementsByTagNameNS(ASSERTION_NS, "AuthnContextClassRef"));
    expect(refs.map((ref) => ref.textContent)).toEqual([REFEDS_MFA]);
    expect(
      doc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "Signature").length,
    ).toBe(0);
  });

  it("omits RequestedAuthnContext and ForceAuthn when nothing is asked", () => {
    const url = protocol.authnRequestUrl(
      SP,
      testIdp().settings(),
      requestOptions({ classRefs: [], forceAuthn: false }),
    );
    const { doc } = decodeRequest(url);
    expect(doc.getElementsByTagNameNS(PROTOCOL_NS, "RequestedAuthnContext").length).toBe(0);
    expect(doc.documentElement?.hasAttribute("ForceAuthn")).toBe(false);
  });

  it("escapes values so a hostile class ref cannot add markup", () => {
    const url = protocol.authnRequestUrl(
      SP,
      testIdp().settings(),
      requestOptions({ classRefs: ['x"/><saml:Evil/>&'] }),
    );
    const { doc } = decodeRequest(url);
    expect(doc.getElementsByTagNameNS(ASSERTION_NS, "Evil").length).toBe(0);
    expect(doc.getElementsByTagNameNS(ASSERTION_NS, "AuthnContextClassRef")[0]?.textContent).toBe(
      'x"/><saml:Evil/>&',
    );
  });

  it("escapes the SP's entity id, ACS URL and the IdP's SSO URL so they read back unchanged", () => {
    const sp = { entityId: `${SP.entityId}?a=<b>&c`, acsUrl: `${SP.acsUrl}?a=1&b="2"` };
    const idp = testIdp();
    const ssoUrl = `${idp.ssoUrl}?a=1&b="2"`;
    const url = protocol.authnRequestUrl(sp, idp.settings({ ssoUrl }), requestOptions());
    const { doc } = decodeRequest(url);
    const request = doc.documentElement!;
    expect(request.getAttribute("Destination")).toBe(ssoUrl);
    expect(request.getAttribute("AssertionConsumerServiceURL")).toBe(sp.acsUrl);
    expect(doc.getElementsByTagNameNS(ASSERTION_NS, "Issuer")[0]?.textContent).toBe(sp.entityId);
  });

  it("refuses to write a request ID that is not an xs:ID, or a RelayState over 80 bytes", () => {
    const idp = testIdp().settings();
    const withOptions = (overrides: { requestId?: string; relayState?: string }) => () =>
      protocol.authnRequestUrl(SP, idp, { ...requestOptions(), ...overrides });
    expect(withOptions({ requestId: `_a"b` })).toThrow(TypeError);
    expect(withOptions({ requestId: "7abc" })).toThrow(TypeError);
    expect(withOptions({ relayState: "r".repeat(81) })).toThrow(TypeError);
    expect(withOptions({ relayState: "r".repeat(80) })).not.toThrow();
  });

  it("is accepted by the samlify IdP, which reads our request ID and RelayState", async () => {
    const idp = testIdp();
    const url = protocol.authnRequestUrl(SP, idp.settings(), requestOptions());
    const received = await idp.receiveAuthnRequest(
      protocol.metadata(SP, testIdp().settings()),
      url,
    );
    expect(received.id).toBe(REQUEST_ID);
    expect(received.relayState).toBe("flow_01HZX");
    expect(received.xml).toContain('Comparison="exact"');
  });
});

describe("a sign-in through the real IdP", () => {
  async function signIn(authnContextClassRef: string) {
    const idp = testIdp();
    const url = protocol.authnRequestUrl(SP, idp.settings(), requestOptions());
    const received = await idp.receiveAuthnRequest(
      protocol.metadata(SP, testIdp().settings()),
      url,
    );
    const samlResponse = await idp.login(
      SP,
      protocol.metadata(SP, testIdp().settings()),
      received.id,
      {
        issuedAt: NOW,
        authnContextClassRef,
      },
    );
    return protocol.verifyResponse(SP, idp.settings(), verification(samlResponse));
  }

  it("verifies an MFA response and returns what the signed assertion says", async () => {
    const result = await signIn(REFEDS_MFA);
    if (!result.ok)
      throw new Error(`rejected: ${result.rejection.code} ${result.rejection.detail}`);
    const value = result.value;
    expect(value.issuer).toBe(testIdp().entityId);
    expect(value.subject).toBe("alice@example.org");
    expect(value.nameIdFormat).toBe("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
    expect(value.sessionIndex).toBe("_session1");
    expect(value.authnContextClassRefs).toEqual([REFEDS_MFA]);
    expect(value.authnInstant.toISOString()).toBe(NOW.toISOString());
    expect(value.inResponseTo).toBe(REQUEST_ID);
    expect(value.assertionId).toMatch(/^_assertion/);
    expect(value.expiresAt.toISOString()).toBe(new Date(NOW.getTime() + 5 * 60_000).toISOString());
    expect(value.attributes["mail"]).toEqual(["alice@example.org"]);
    expect(value.attributes["groups"]).toEqual(["staff", "admins"]);
  });

  it("returns a password-only context verbatim, for the engine to refuse as MFA (R3)", async () => {
    const result = await signIn(PASSWORD_PROTECTED_TRANSPORT);
    expect(result.ok && result.value.authnContextClassRefs).toEqual([PASSWORD_PROTECTED_TRANSPORT]);
  });

  it("reads the subject from the configured attribute when one is set", async () => {
    const idp = testIdp();
    const samlResponse = await idp.login(
      SP,
      protocol.metadata(SP, testIdp().settings()),
      REQUEST_ID,
      {
        issuedAt: NOW,
        tags: { Mail: "alice.mail@example.org" },
      },
    );
    const result = await protocol.verifyResponse(
      SP,
      idp.settings({ subjectAttribute: "mail" }),
      verification(samlResponse),
    );
    expect(result.ok && result.value.subject).toBe("alice.mail@example.org");
  });

  it("also verifies a response whose Response and Assertion are both signed", async () => {
    const idp = testIdp();
    const samlResponse = await idp.login(
      SP,
      protocol.metadata(SP, testIdp().settings()),
      REQUEST_ID,
      { issuedAt: NOW },
      { signResponse: true },
    );
    const result = await protocol.verifyResponse(SP, idp.settings(), verification(samlResponse));
    expect(result.ok && result.value.subject).toBe("alice@example.org");
  });
});
