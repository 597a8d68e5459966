/**
 * Threat: text splitting (checklist S4; CVE-2017-11427 family, VU#475445). Canonicalisation drops
 * comments, so `alice@example.org<!---->.evil` still verifies while a naive reader sees another
 * name; xml-crypto also canonicalised processing instructions as text (OneUptime #2988).
 */
import { describe, expect, it } from "vitest";
import { idpResponse, outcomeOf } from "./test-support/scenario.js";
import { ASSERTION, assertionOf, first, tamper } from "./test-support/tamper.js";

describe("comments and processing instructions in signed values", () => {
  it("refuses a comment inside NameID, which the signature alone does not catch", async () => {
    const edited = tamper(await idpResponse({ nameId: "admin@victim.com.evil.com" }), (doc) => {
      const nameId = first(assertionOf(doc), ASSERTION, "NameID");
      nameId.textContent = "admin@victim.com";
      nameId.appendChild(doc.createComment(""));
      nameId.appendChild(doc.createTextNode(".evil.com"));
    });
    expect(await outcomeOf(edited)).toBe("saml.comment_in_value");
  });

  it("refuses a processing instruction inside NameID", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const nameId = first(assertionOf(doc), ASSERTION, "NameID");
      nameId.appendChild(doc.createProcessingInstruction("x", ".evil.com"));
    });
    expect(await outcomeOf(edited)).toBe("saml.comment_in_value");
  });

  it("refuses a comment inside an attribute value", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const value = first(assertionOf(doc), ASSERTION, "AttributeValue");
      value.insertBefore(doc.createComment("x"), value.firstChild);
    });
    expect(await outcomeOf(edited)).toBe("saml.comment_in_value");
  });

  it("refuses a comment inside AuthnContextClassRef", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const ref = first(assertionOf(doc), ASSERTION, "AuthnContextClassRef");
      ref.appendChild(doc.createComment("x"));
    });
    expect(await outcomeOf(edited)).toBe("saml.comment_in_value");
  });
});
