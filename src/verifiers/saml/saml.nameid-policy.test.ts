/**
 * Threat: a NameID the registration did not choose taken as the principal (DESIGN invariant 9).
 * A registration may ask its IdP for a NameID Format (`nameIdFormat`): the AuthnRequest says so
 * in its NameIDPolicy (SAML Core §3.4.1.1) and the SP metadata in its NameIDFormat, both read
 * here by the real samlify IdP. An answer whose NameID has another Format (an email address,
 * which may later be given to someone else, where a persistent id was asked) names users by
 * values the asked Format does not, and is refused when the NameID is the subject.
 */
import { DOMParser, type Element } from "@xmldom/xmldom";
import * as samlify from "samlify";
import { describe, expect, it } from "vitest";
import {
  NOW,
  REQUEST_ID,
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { REFEDS_MFA } from "./test-support/test-idp.js";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

const requestOptions = {
  requestId: REQUEST_ID,
  authnContextClassRefs: [REFEDS_MFA],
  forceAuthn: false,
  relayState: "flow_01HZX",
  issueInstant: NOW,
};

/** The AuthnRequest and SP metadata for a registration asking `nameIdFormat`, as the IdP reads them. */
async function receivedBy(nameIdFormat: string | undefined, subjectAttribute?: string) {
  const idp = testIdp();
  const settings = idp.settings({
    ...(nameIdFormat === undefined ? {} : { nameIdFormat }),
    ...(subjectAttribute === undefined ? {} : { subjectAttribute }),
  });
  const metadata = protocol.metadata(SP, settings);
  return idp.receiveAuthnRequest(metadata, protocol.authnRequestUrl(SP, settings, requestOptions));
}

describe("the NameIDPolicy of the AuthnRequest", () => {
  it("asks no Format when the registration names none (the IdP's configured one), allowing creation", async () => {
    const received = await receivedBy(undefined);
    expect(received.id).toBe(REQUEST_ID);
    expect(received.nameIdPolicy).toEqual({ format: undefined, allowCreate: "true" });
  });

  it.each([PERSISTENT, EMAIL, UNSPECIFIED, "urn:example:nameid:employee"])(
    "asks for %s with AllowCreate (Core §3.4.1.1)",
    async (format) => {
      const received = await receivedBy(format);
      expect(received.nameIdPolicy).toEqual({ format, allowCreate: "true" });
    },
  );

  it("asks for transient without AllowCreate, which must not be used with it (Core §3.4.1.1)", async () => {
    const received = await receivedBy(TRANSIENT, "mail");
    expect(received.nameIdPolicy).toEqual({ format: TRANSIENT, allowCreate: undefined });
  });

  it("escapes a Format so it reads back unchanged and adds no markup", async () => {
    const odd = 'urn:example:a&b"<c/>';
    const received = await receivedBy(odd);
    expect(received.nameIdPolicy.format).toBe(odd);
    expect(received.xml).not.toContain("<c/>");
  });
});

describe("the NameIDFormat of the SP metadata", () => {
  const read = (nameIdFormat: string | undefined) =>
    new DOMParser().parseFromString(
      protocol.metadata(SP, testIdp().settings(nameIdFormat === undefined ? {} : { nameIdFormat })),
      "text/xml",
    );

  it("declares none when the registration asks none", () => {
    expect(read(undefined).getElementsByTagNameNS(MD, "NameIDFormat").length).toBe(0);
  });

  it("declares the Format asked, before the ACS as SSODescriptorType orders it (Metadata §2.4.2)", () => {
    const descriptor = read(PERSISTENT).getElementsByTagNameNS(MD, "SPSSODescriptor")[0]!;
    const children = Array.from(descriptor.childNodes).filter((n) => n.nodeType === 1);
    expect(children.map((n) => (n as Element).localName)).toEqual([
      "NameIDFormat",
      "AssertionConsumerService",
    ]);
    expect(children[0]?.textContent).toBe(PERSISTENT);
  });

  it("is read by samlify as the SP's NameID Format", async () => {
    const sp = samlify.ServiceProvider({
      metadata: protocol.metadata(SP, testIdp().settings({ nameIdFormat: EMAIL })),
    });
    expect([sp.entityMeta.getNameIDFormat()].flat()).toEqual([EMAIL]);
    expect((await receivedBy(EMAIL)).spNameIdFormats).toEqual([EMAIL]);
  });
});

describe("an answer when the registration asks for a Format and the NameID is the subject", () => {
  const answer = (format: string | undefined, value = "pk3X9bYw2Qz") =>
    idpResponse({ nameId: value, tags: { NameIDFormat: format } });
  const outcome = async (asked: string, format: string | undefined, requestId?: null) =>
    protocol
      .verifyResponse(
        SP,
        testIdp().settings({
          nameIdFormat: asked,
          ...(requestId === null ? { allowUnsolicited: true } : {}),
        }),
        verification(
          await idpResponse(
            { nameId: "pk3X9bYw2Qz", tags: { NameIDFormat: format } },
            {},
            testIdp(),
            requestId === null ? null : REQUEST_ID,
          ),
          requestId === null ? { expectedRequestId: undefined } : {},
        ),
      )
      .then((result) => (result.ok ? "ok" : result.rejection.code));

  it("accepts the Format asked, read by the IdP from the request it answers", async () => {
    const received = await receivedBy(PERSISTENT);
    const settings = testIdp().settings({ nameIdFormat: PERSISTENT });
    const samlResponse = await testIdp().login(SP, protocol.metadata(SP, settings), received.id, {
      issuedAt: NOW,
      nameId: "pk3X9bYw2Qz",
      tags: { NameIDFormat: received.nameIdPolicy.format },
    });
    const result = await protocol.verifyResponse(SP, settings, verification(samlResponse));
    expect(result.ok && result.value.subject).toBe("pk3X9bYw2Qz");
    expect(result.ok && result.value.nameIdFormat).toBe(PERSISTENT);
  });

  it("accepts the Format asked with whitespace around it (xs:anyURI collapses it)", async () => {
    expect(await outcome(PERSISTENT, ` ${PERSISTENT}\n`)).toBe("ok");
  });

  it.each([
    ["emailAddress, where persistent was asked", PERSISTENT, EMAIL],
    ["unspecified, where persistent was asked", PERSISTENT, UNSPECIFIED],
    ["no Format (Core §2.2.2: unspecified), where persistent was asked", PERSISTENT, undefined],
    ["a deployment's own URI, where persistent was asked", PERSISTENT, "urn:example:nameid:x"],
    ["persistent, where emailAddress was asked", EMAIL, PERSISTENT],
    ["no Format, where emailAddress was asked", EMAIL, undefined],
    ["another case of the URI asked (compared exactly)", EMAIL, EMAIL.toLowerCase()],
  ])("refuses %s as saml.name_id_format_mismatch", async (_, asked, format) => {
    expect(await outcome(asked, format)).toBe("saml.name_id_format_mismatch");
  });

  it("refuses another Format in an unsolicited answer too: the registration asks, not the request", async () => {
    expect(await outcome(PERSISTENT, EMAIL, null)).toBe("saml.name_id_format_mismatch");
    expect(await outcome(PERSISTENT, PERSISTENT, null)).toBe("ok");
  });

  it("names the Format asked and what to do, never the NameID or the Format sent", async () => {
    const result = await protocol.verifyResponse(
      SP,
      testIdp().settings({ nameIdFormat: PERSISTENT }),
      verification(await answer("urn:example:sent-format", "alice@example.org")),
    );
    expect(!result.ok && result.rejection.code).toBe("saml.name_id_format_mismatch");
    if (result.ok) return;
    expect(result.rejection.detail).toContain(PERSISTENT);
    expect(result.rejection.detail).toContain("nameIdFormat");
    expect(result.rejection.detail).not.toContain("alice@example.org");
    expect(result.rejection.detail).not.toContain("sent-format");
  });

  it.each([PERSISTENT, EMAIL, UNSPECIFIED, undefined, "urn:example:nameid:employee"])(
    "leaves the IdP any Format when unspecified was asked (Core §3.4.1.1): accepts %s",
    async (format) => {
      expect(await outcome(UNSPECIFIED, format)).toBe("ok");
    },
  );

  it("still refuses a transient NameID when unspecified was asked (saml.subject_format)", async () => {
    expect(await outcome(UNSPECIFIED, TRANSIENT)).toBe("saml.subject_format");
  });
});

describe("an answer when the registration asks for a Format and the subject is an attribute", () => {
  it("accepts any NameID Format: the NameID names no one here", async () => {
    const result = await protocol.verifyResponse(
      SP,
      testIdp().settings({ nameIdFormat: TRANSIENT, subjectAttribute: "mail" }),
      verification(await idpResponse({ tags: { NameIDFormat: EMAIL, Mail: "alice@example.org" } })),
    );
    expect(result.ok && result.value.subject).toBe("alice@example.org");
  });

  it("and a registration that asks none keeps today's checks: emailAddress is accepted", async () => {
    expect(await outcomeOf(await idpResponse({ tags: { NameIDFormat: EMAIL } }))).toBe("ok");
  });
});
