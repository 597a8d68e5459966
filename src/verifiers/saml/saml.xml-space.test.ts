/**
 * Threat: two users the IdP tells apart signing in here as one (DESIGN invariant 9). XML 1.0
 * §2.10: `xml:space="preserve"` on an element, or the nearest ancestor saying it, tells the reader
 * that the white space of its text counts. The verifier trimmed the XML white space around a
 * NameID or subject attribute whatever the IdP said, so an IdP that marks its values so and keeps
 * `alice@example.org` and `alice@example.org ` apart had both sign in as alice.
 */
import { describe, expect, it } from "vitest";
import { idpResponse, subjectOf } from "./test-support/scenario.js";

const ALICE = "alice@example.org";
const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

// XML 1.0 §2.10: `xml:space="preserve"` says the white space of the element's text counts. A
// NameID is an xs:string, all of whose characters count anyway; its XML white space at either
// end is trimmed only as an indenting IdP's layout, which the IdP saying "preserve" rules out.
describe("white space the IdP says counts (xml:space) is kept", () => {
  it("keeps the space ending a NameID that says xml:space preserve: not alice", async () => {
    const signed = await idpResponse({
      rawTags: {
        NameID: `${ALICE} `,
        NameIDFormat: `${EMAIL_FORMAT}" xml:space="preserve`,
      },
    });
    expect(await subjectOf(signed)).toBe(`${ALICE} `);
  });

  it("keeps the line break ending a subject attribute whose assertion says xml:space preserve", async () => {
    const signed = await idpResponse({
      rawTags: { AssertionID: `_preserving" xml:space="preserve`, Mail: `${ALICE}&#xA;` },
    });
    expect(await subjectOf(signed, "mail")).toBe(`${ALICE}\n`);
  });

  it("trims a NameID that says xml:space default inside an assertion that preserves", async () => {
    const signed = await idpResponse({
      rawTags: {
        AssertionID: `_preserving" xml:space="preserve`,
        NameID: `\n  ${ALICE}\n`,
        NameIDFormat: `${EMAIL_FORMAT}" xml:space="default`,
      },
    });
    expect(await subjectOf(signed)).toBe(ALICE);
  });

  it("still trims an indented NameID where nothing says preserve", async () => {
    const signed = await idpResponse({ rawTags: { NameID: `\n  ${ALICE}\n` } });
    expect(await subjectOf(signed)).toBe(ALICE);
  });
});
