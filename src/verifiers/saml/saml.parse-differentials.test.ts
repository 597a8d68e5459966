/**
 * Threat: a subject read otherwise than the IdP signed it (DESIGN invariant 9; checklist S1, S4).
 * The signature covers the canonical form of the assertion, in which CDATA sections, character
 * references and split text are one text and comments are gone; a reader that takes the value
 * from another view of the document (the first text node, the raw markup, a prefix rather than a
 * namespace) names someone the IdP did not. Each case here has the real IdP sign the markup.
 */
import { describe, expect, it } from "vitest";
import { idpResponse, outcomeOf, subjectOf } from "./test-support/scenario.js";
import { decode, encode } from "./test-support/tamper.js";

const ALICE = "alice@example.org";
const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/** A response whose NameID the IdP signed as the markup `xml`. */
const nameIdMarkup = (xml: string) => idpResponse({ rawTags: { NameID: xml } });

describe("a NameID is the text of its signed XML, whatever markup writes it", () => {
  it("reads a CDATA section as the text it holds", async () => {
    expect(await subjectOf(await nameIdMarkup(`<![CDATA[${ALICE}]]>`))).toBe(ALICE);
  });

  it("reads a CDATA section holding a comment's markup as that text, not as a comment", async () => {
    const signed = await nameIdMarkup("admin@victim.com<![CDATA[<!---->]]>.evil.com");
    expect(await subjectOf(signed)).toBe("admin@victim.com<!---->.evil.com");
  });

  it("reads text split by CDATA sections and references as one text, all of it", async () => {
    const signed = await nameIdMarkup("admin@victim.com<![CDATA[.evil]]>&#x2e;com");
    expect(await subjectOf(signed)).toBe("admin@victim.com.evil.com");
  });

  it("keeps an invisible character written as a reference (&#x200B;): not alice", async () => {
    expect(await subjectOf(await nameIdMarkup(`${ALICE}&#x200B;`))).toBe(`${ALICE}\u200b`);
  });

  it("reads a predefined entity as its character", async () => {
    expect(await subjectOf(await nameIdMarkup("o&apos;brien&amp;co@example.org"))).toBe(
      "o'brien&co@example.org",
    );
  });

  it("refuses an entity reference no DOCTYPE declares, which the signature library reads as text", async () => {
    // The IdP signed the text `&evil;` (samlify's parser keeps an unknown reference as text) and
    // sent it escaped; sent as the bare reference, the signature library still reads that text.
    const signed = decode(await nameIdMarkup(`${ALICE}&evil;`));
    expect(signed).toContain(`${ALICE}&amp;evil;`);
    const bare = encode(signed.replace("&amp;evil;", "&evil;"));
    expect(await subjectOf(bare)).toBe("saml.malformed");
  });
});

describe("elements are told by namespace, never by prefix", () => {
  it("does not read a saml-prefixed NameID of another namespace as the subject", async () => {
    const signed = await idpResponse({
      rawTags: {
        // The Subject's only NameID rebinds the saml prefix: it is another namespace's NameID.
        NameIDFormat: `${EMAIL_FORMAT}" xmlns:saml="urn:example:not-saml`,
      },
    });
    expect(await subjectOf(signed)).toBe("saml.subject_missing");
  });
});

// Two attributes of one expanded name (`p:ID` and `q:ID`, p and q one namespace) break the
// namespaces spec: our @xmldom/xmldom 0.9 keeps the last, silently, where xml-crypto's 0.8 keeps
// both, so only the signature library sees an element carrying the signed assertion's ID.
describe("an ID only the signature library's parser sees", () => {
  for (const [order, attributes] of [
    ["after", (id: string) => `q:ID="_decoy" p:ID="${id}"`],
    ["before", (id: string) => `p:ID="${id}" q:ID="_decoy"`],
  ] as const) {
    it(`refuses a decoy carrying the assertion's ID ${order} another of its name as wrapping`, async () => {
      const xml = decode(await idpResponse());
      const id = /<saml:Assertion[^>]* ID="([^"]+)"/.exec(xml)?.[1] ?? "";
      const decoy = `<samlp:Extensions xmlns:p="urn:example:ids" xmlns:q="urn:example:ids" ${attributes(id)}/>`;
      const edited = xml.replace("</saml:Issuer>", `</saml:Issuer>${decoy}`);
      expect(edited).toContain(decoy);
      expect(await outcomeOf(encode(edited))).toBe("saml.signature_wrapping");
    });
  }
});
