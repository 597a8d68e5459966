/**
 * Threat: two users the IdP tells apart signing in here as one (DESIGN invariant 9), through a
 * parser reading XML 1.0 as XML 1.1. XML 1.0 (§2.11) turns only CR LF and CR into a line feed;
 * @xmldom/xmldom also turns NEL (U+0085), the line separator (U+2028) and the paragraph separator
 * (U+2029) into one, wherever they stand, and xml-crypto parses the response with its own copy of
 * it. A NameID `alice@example.org` followed by one of them, which the IdP signed as such, became
 * `alice@example.org` and a line feed, which the trimming of XML white space then dropped: another
 * IdP account signed in as alice. Read as XML 1.0, the character stays, and the subject rules
 * refuse it (federation.subject_unusable); a response carrying one as a bare character, which the
 * signature library cannot read as the IdP wrote it, is refused.
 */
import { describe, expect, it } from "vitest";
import {
  NOW,
  REQUEST_ID,
  SP,
  idpResponse,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { subjectPrincipalIdFlaw } from "../../core/principal-id.js";
import { REFEDS_MFA, type ResponseTag } from "./test-support/test-idp.js";
import { decode, encode } from "./test-support/tamper.js";

const ALICE = "alice@example.org";
/** The characters XML 1.1 adds to the line ends, which XML 1.0 documents keep as characters. */
const XML_11_LINE_ENDS = ["\u0085", "\u2028", "\u2029"];
const codePointOf = (character: string): string =>
  `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
const referenceTo = (character: string): string =>
  `&#x${(character.codePointAt(0) ?? 0).toString(16)};`;

/** What the verifier read, or its refusal's code. */
async function readFrom(
  response: string,
  read: (value: { subject: string; authnContextClassRefs: readonly string[] }) => unknown,
  subjectAttribute?: string,
): Promise<unknown> {
  const result = await protocol.verifyResponse(
    SP,
    testIdp().settings(subjectAttribute === undefined ? {} : { subjectAttribute }),
    verification(response),
  );
  return result.ok ? read(result.value) : result.rejection.code;
}
const subject = (value: { subject: string }) => value.subject;

/**
 * The IdP's response as an IdP that writes non-ASCII characters as character references sends
 * it: every `character` the signed document holds written `&#x…;`, the same XML, so the same
 * signature. samlify writes the character itself.
 */
function asReferences(samlResponse: string, character: string): string {
  return encode(decode(samlResponse).replaceAll(character, referenceTo(character)));
}

/** An AuthnStatement now whose class ref is `classRefXml`, put in as XML. */
function authnStatementStating(classRefXml: string): string {
  return (
    `<saml:AuthnStatement AuthnInstant="${NOW.toISOString()}"><saml:AuthnContext>` +
    `<saml:AuthnContextClassRef>${classRefXml}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
  );
}

describe("a line separator is a character of the value, never a line end", () => {
  for (const separator of XML_11_LINE_ENDS) {
    const name = codePointOf(separator);

    it(`reads a NameID ending in ${name}, written as a reference, with it: not as alice`, async () => {
      const signed = await idpResponse({
        rawTags: { NameID: `${ALICE}${referenceTo(separator)}` },
      });
      const read = await readFrom(asReferences(signed, separator), subject);
      expect(read).toBe(`${ALICE}${separator}`);
      // Handed on so, it is no principal id: the subject rules refuse it as subject_unusable.
      expect(subjectPrincipalIdFlaw(String(read))).toBeDefined();
    });

    it(`reads a subject attribute ending in ${name}, written as a reference, with it`, async () => {
      const signed = await idpResponse({ rawTags: { Mail: `${ALICE}${referenceTo(separator)}` } });
      expect(await readFrom(asReferences(signed, separator), subject, "mail")).toBe(
        `${ALICE}${separator}`,
      );
    });

    it(`refuses a response holding ${name} as a bare character, which the signature library reads as a line end`, async () => {
      const signed = await idpResponse({
        rawTags: { NameID: `${ALICE}${referenceTo(separator)}` },
      });
      expect(decode(signed)).toContain(`${ALICE}${separator}`);
      expect(await readFrom(signed, subject)).toBe("saml.malformed");
    });

    it(`reads an AuthnContextClassRef ending in ${name} with it: not as REFEDS MFA`, async () => {
      const signed = await idpResponse({
        tags: { AuthnStatement: authnStatementStating(`${REFEDS_MFA}${referenceTo(separator)}`) },
      });
      expect(
        await readFrom(asReferences(signed, separator), (value) => value.authnContextClassRefs),
      ).toEqual([`${REFEDS_MFA}${separator}`]);
    });
  }

  // Compared exactly, a value with a separator after it was never the expected one; neither is it
  // now that the separator is kept.
  const EXACT: readonly (readonly [ResponseTag, string, string])[] = [
    ["Issuer", testIdp().entityId, "saml.issuer_mismatch"],
    ["AssertionIssuer", testIdp().entityId, "saml.issuer_mismatch"],
    ["Destination", SP.acsUrl, "saml.destination_mismatch"],
    ["InResponseTo", REQUEST_ID, "saml.in_response_to_mismatch"],
    ["SubjectRecipient", SP.acsUrl, "saml.recipient_mismatch"],
    ["SubjectInResponseTo", REQUEST_ID, "saml.in_response_to_mismatch"],
    ["Audience", SP.entityId, "saml.audience_mismatch"],
  ];
  for (const [tag, value, refusal] of EXACT) {
    it(`refuses a ${tag} ending in U+2029 as ${refusal}`, async () => {
      const signed = await idpResponse({ rawTags: { [tag]: `${value}&#x2029;` } });
      expect(await readFrom(asReferences(signed, "\u2029"), subject)).toBe(refusal);
    });
  }

  it("refuses a NameID that the IdP signed with U+2029 sent as the character", async () => {
    // samlify's own parser keeps U+2029 (only U+0085 and U+2028 are line ends to it), so it signs
    // and sends the character: the signature verifies, and the name must not become alice's.
    const signed = await idpResponse({ nameId: `${ALICE}\u2029` });
    expect(await readFrom(signed, subject)).toBe("saml.malformed");
  });

  it("still reads CR LF and CR around a NameID as the XML white space they are", async () => {
    const signed = await idpResponse({ rawTags: { NameID: `\r\n  ${ALICE}\r` } });
    expect(await readFrom(signed, subject)).toBe(ALICE);
  });
});
