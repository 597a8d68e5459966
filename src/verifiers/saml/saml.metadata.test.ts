/**
 * SP metadata as an IdP administrator imports it, and IdP metadata as a tenant administrator
 * uploads it: untrusted XML that gets the response's hardening and precise refusals.
 */
import { DOMParser } from "@xmldom/xmldom";
import * as samlify from "samlify";
import { describe, expect, it } from "vitest";
import { SP, idpResponse, protocol, testIdp, verification } from "./test-support/scenario.js";
import { generateTestKeyPair } from "./test-support/certificate.js";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";

describe("SP metadata", () => {
  it("describes one HTTP-POST ACS, unsigned requests and signed assertions", () => {
    const doc = new DOMParser().parseFromString(
      protocol.metadata(SP, testIdp().settings()),
      "text/xml",
    );
    const entity = doc.documentElement!;
    expect(entity.namespaceURI).toBe(MD);
    expect(entity.getAttribute("entityID")).toBe(SP.entityId);
    const descriptor = doc.getElementsByTagNameNS(MD, "SPSSODescriptor")[0]!;
    expect(descriptor.getAttribute("AuthnRequestsSigned")).toBe("false");
    expect(descriptor.getAttribute("WantAssertionsSigned")).toBe("true");
    const acs = doc.getElementsByTagNameNS(MD, "AssertionConsumerService");
    expect(acs.length).toBe(1);
    expect(acs[0]?.getAttribute("Binding")).toBe("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    expect(acs[0]?.getAttribute("Location")).toBe(SP.acsUrl);
  });

  it("escapes values so they read back unchanged", () => {
    const odd = {
      entityId: 'https://sp.example/?a=1&b="2"<x>',
      acsUrl: "https://sp.example/acs?x=1&y=2",
    };
    const doc = new DOMParser().parseFromString(
      protocol.metadata(odd, testIdp().settings()),
      "text/xml",
    );
    expect(doc.documentElement?.getAttribute("entityID")).toBe(odd.entityId);
    expect(
      doc.getElementsByTagNameNS(MD, "AssertionConsumerService")[0]?.getAttribute("Location"),
    ).toBe(odd.acsUrl);
  });

  it("is read by samlify as this SP", () => {
    const sp = samlify.ServiceProvider({ metadata: protocol.metadata(SP, testIdp().settings()) });
    expect(sp.entityMeta.getEntityID()).toBe(SP.entityId);
    expect(sp.entityMeta.isWantAssertionsSigned()).toBe(true);
  });
});

describe("IdP metadata", () => {
  it("reads the samlify IdP's own metadata, and its certificate verifies its responses", async () => {
    const idp = testIdp();
    const parsed = protocol.parseIdpMetadata(idp.metadataXml());
    if (!parsed.ok) throw new Error(parsed.rejection.detail);
    expect(parsed.value.entityId).toBe(idp.entityId);
    expect(parsed.value.ssoUrl).toBe(idp.ssoUrl);
    expect(parsed.value.signingCertificates).toHaveLength(1);
    const result = await protocol.verifyResponse(
      SP,
      { ...parsed.value, allowUnsolicited: false },
      verification(await idpResponse()),
    );
    expect(result.ok).toBe(true);
  });

  const cert = generateTestKeyPair("metadata").certificateBase64;
  const metadata = (descriptor: string, root = "md:EntityDescriptor") =>
    `<${root} xmlns:md="${MD}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example/x">${descriptor}</${root}>`;
  const key = (use: string | undefined) =>
    `<md:KeyDescriptor${use === undefined ? "" : ` use="${use}"`}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const sso = (binding: string) =>
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="https://idp.example/sso"/>`;
  const idpDescriptor = (inner: string) =>
    `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</md:IDPSSODescriptor>`;

  it("registers a certificate named twice once", () => {
    const parsed = protocol.parseIdpMetadata(
      metadata(idpDescriptor(key("signing") + key(undefined) + sso("HTTP-Redirect"))),
    );
    expect(parsed.ok && parsed.value.signingCertificates).toHaveLength(1);
  });

  it("takes a KeyDescriptor without use as a signing key", () => {
    const parsed = protocol.parseIdpMetadata(
      metadata(idpDescriptor(key(undefined) + sso("HTTP-Redirect"))),
    );
    expect(parsed.ok && parsed.value.signingCertificates).toHaveLength(1);
  });

  const refusals: Record<string, [string, RegExp]> = {
    "a DOCTYPE": [
      `<!DOCTYPE x>${metadata(idpDescriptor(key("signing") + sso("HTTP-Redirect")))}`,
      /DOCTYPE/,
    ],
    "another root": [
      metadata(idpDescriptor(key("signing") + sso("HTTP-Redirect")), "md:EntitiesDescriptor"),
      /EntityDescriptor/,
    ],
    "no IDPSSODescriptor": [metadata(""), /IDPSSODescriptor/],
    "only an encryption key": [
      metadata(idpDescriptor(key("encryption") + sso("HTTP-Redirect"))),
      /signing certificate/,
    ],
    "no HTTP-Redirect SSO": [
      metadata(idpDescriptor(key("signing") + sso("HTTP-POST"))),
      /HTTP-Redirect/,
    ],
    "a broken certificate": [
      metadata(
        idpDescriptor(key("signing").replace(cert, "bm90IGEgY2VydA==") + sso("HTTP-Redirect")),
      ),
      /does not parse/,
    ],
    "not XML": ["not xml", /XML/],
    "an empty entityID": [
      metadata(idpDescriptor(key("signing") + sso("HTTP-Redirect"))).replace(
        'entityID="https://idp.example/x"',
        'entityID=""',
      ),
      /entityID/,
    ],
    "an entityID over 1024 characters": [
      metadata(idpDescriptor(key("signing") + sso("HTTP-Redirect"))).replace(
        'entityID="https://idp.example/x"',
        `entityID="https://idp.example/${"x".repeat(1024)}"`,
      ),
      /entityID/,
    ],
    "an IDPSSODescriptor for another protocol only": [
      metadata(idpDescriptor(key("signing") + sso("HTTP-Redirect"))).replace(
        "urn:oasis:names:tc:SAML:2.0:protocol",
        "urn:oasis:names:tc:SAML:1.1:protocol",
      ),
      /IDPSSODescriptor/,
    ],
    "two IDPSSODescriptors": [
      metadata(idpDescriptor(key("signing") + sso("HTTP-Redirect")).repeat(2)),
      /exactly one IDPSSODescriptor/,
    ],
    "an SSO Location that is not http(s)": [
      metadata(idpDescriptor(key("signing") + sso("HTTP-Redirect"))).replace(
        "https://idp.example/sso",
        "javascript:alert(1)",
      ),
      /not an http\(s\) URL/,
    ],
    "a comment inside a certificate": [
      metadata(
        idpDescriptor(
          key("signing").replace(cert, `${cert.slice(0, 8)}<!---->${cert.slice(8)}`) +
            sso("HTTP-Redirect"),
        ),
      ),
      /comment/,
    ],
    "more than 1 MiB": [
      metadata(
        `<!--${"x".repeat(1024 * 1024)}-->${idpDescriptor(key("signing") + sso("HTTP-Redirect"))}`,
      ),
      /exceeds/,
    ],
  };
  for (const [label, [xml, detail]] of Object.entries(refusals)) {
    it(`refuses metadata with ${label}`, () => {
      const parsed = protocol.parseIdpMetadata(xml);
      expect(!parsed.ok && parsed.rejection.code).toBe("saml.metadata_invalid");
      expect(!parsed.ok && parsed.rejection.detail).toMatch(detail);
    });
  }
});

// Threat: metadata past its `validUntil` (SAML Metadata §2.3.1, §2.3.2) is no longer vouched for
// by its publisher, whose keys may since have been retired or leaked; registered from it, the
// tenant would trust them. The parser reports the expiry for the use case to judge against its
// clock, and refuses an expiry it cannot read.
describe("IdP metadata expiry", () => {
  const withRootAttributes = (attributes: string, xml = testIdp().metadataXml()) =>
    xml.replace(/^<EntityDescriptor /, `<EntityDescriptor ${attributes} `);

  it("reports the samlify IdP's validUntil, in UTC with milliseconds", () => {
    const parsed = protocol.parseIdpMetadata(
      withRootAttributes('validUntil="2031-05-01T10:00:00Z"'),
    );
    if (!parsed.ok) throw new Error(parsed.rejection.detail);
    expect(parsed.value.validUntil).toBe("2031-05-01T10:00:00.000Z");
    expect(parsed.value.entityId).toBe(testIdp().entityId);
  });

  it("reports no expiry when the metadata states none", () => {
    const parsed = protocol.parseIdpMetadata(testIdp().metadataXml());
    expect(parsed.ok && "validUntil" in parsed.value).toBe(false);
  });

  it.each(["PT6H", "P1D", "not a duration"])(
    "reads cacheDuration %s as the caching hint it is, refusing nothing",
    (cacheDuration) => {
      const parsed = protocol.parseIdpMetadata(
        withRootAttributes(`cacheDuration="${cacheDuration}"`),
      );
      expect(parsed.ok && parsed.value.validUntil).toBeUndefined();
      expect(parsed.ok).toBe(true);
    },
  );

  it.each([
    ["words", "tomorrow"],
    ["an empty value", ""],
    ["no time zone", "2031-05-01T10:00:00"],
    ["a date only", "2031-05-01"],
    ["a day February does not have", "2031-02-30T10:00:00Z"],
    ["an hour past 23", "2031-05-01T25:00:00Z"],
  ])("refuses a validUntil with %s", (_label, value) => {
    const parsed = protocol.parseIdpMetadata(withRootAttributes(`validUntil="${value}"`));
    expect(!parsed.ok && parsed.rejection.code).toBe("saml.metadata_invalid");
    expect(!parsed.ok && parsed.rejection.detail).toMatch(/malformed validUntil/);
  });
});

// Threat: an IdP role past its own `validUntil` (SAML Metadata §2.4.1: RoleDescriptor carries
// one, like the EntityDescriptor) is no longer vouched for, even while the entity still is; read
// from the entity only, the registration would keep trusting the keys of a withdrawn role.
describe("IdP role expiry", () => {
  const withAttributes = ({ entity = "", role = "" }) =>
    testIdp()
      .metadataXml()
      .replace(/^<EntityDescriptor /, `<EntityDescriptor ${entity} `)
      .replace(/<IDPSSODescriptor /, `<IDPSSODescriptor ${role} `);

  it.each([
    [
      "the role's, when it expires before the entity",
      { entity: 'validUntil="2031-05-01T10:00:00Z"', role: 'validUntil="2030-01-01T00:00:00Z"' },
      "2030-01-01T00:00:00.000Z",
    ],
    [
      "the entity's, when it expires before the role",
      { entity: 'validUntil="2029-03-01T00:00:00Z"', role: 'validUntil="2030-01-01T00:00:00Z"' },
      "2029-03-01T00:00:00.000Z",
    ],
    [
      "the role's, when only the role states one",
      { role: 'validUntil="2001-01-01T00:00:00Z"' },
      "2001-01-01T00:00:00.000Z",
    ],
  ])("reports %s", (_label, attributes, expected) => {
    const parsed = protocol.parseIdpMetadata(withAttributes(attributes));
    if (!parsed.ok) throw new Error(parsed.rejection.detail);
    expect(parsed.value.validUntil).toBe(expected);
  });

  it.each(["tomorrow", "2031-05-01T10:00:00", "2031-02-30T10:00:00Z"])(
    "refuses a role validUntil of %s",
    (value) => {
      const parsed = protocol.parseIdpMetadata(
        withAttributes({
          entity: 'validUntil="2031-05-01T10:00:00Z"',
          role: `validUntil="${value}"`,
        }),
      );
      expect(!parsed.ok && parsed.rejection.code).toBe("saml.metadata_invalid");
      expect(!parsed.ok && parsed.rejection.detail).toMatch(
        /IDPSSODescriptor has a malformed validUntil/,
      );
    },
  );
});
