/**
 * Threat: XML signature wrapping (checklist S1–S3, S7, S8; Somorovsky et al. 2012; CVE-2025-54419,
 * CVE-2025-29774). Every attack starts from a response the real IdP signed for alice and tries to
 * make the verifier consume attacker-chosen content while the signature still verifies.
 */
import { describe, expect, it } from "vitest";
import {
  idpResponse,
  outcomeOf,
  protocol,
  SP,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import {
  ASSERTION,
  DSIG,
  XSW_VARIANTS,
  assertionOf,
  decode,
  encode,
  first,
  impersonate,
  responseOf,
  signatureOf,
  tamper,
} from "./test-support/tamper.js";

describe("signature wrapping (SAML Raider XSW1–8, XSW10)", () => {
  const expected: Record<keyof typeof XSW_VARIANTS, string> = {
    xsw1: "saml.signature_wrapping",
    xsw2: "saml.signature_wrapping",
    // XSW3 and XSW5 leave two sibling Assertions: the one-assertion rule (S8) stops them first.
    xsw3: "saml.assertion_count",
    xsw4: "saml.signature_wrapping",
    xsw5: "saml.assertion_count",
    xsw6: "saml.signature_wrapping",
    xsw7: "saml.signature_wrapping",
    xsw8: "saml.signature_wrapping",
    xsw10: "saml.signature_wrapping",
  };
  for (const [name, apply] of Object.entries(XSW_VARIANTS)) {
    it(`refuses ${name.toUpperCase()}`, async () => {
      // XSW1 and XSW2 wrap the Response signature, the others the Assertion's.
      const signResponse = name === "xsw1" || name === "xsw2";
      const genuine = await idpResponse({}, { signResponse });
      expect(await outcomeOf(genuine)).toBe("ok");
      const attacked = tamper(genuine, apply);
      expect(decode(attacked)).toContain("attacker@evil.example");
      expect(await outcomeOf(attacked)).toBe(expected[name as keyof typeof XSW_VARIANTS]);
    });
  }
});

describe("signed bytes only (S1)", () => {
  it("ignores an edit outside the signed assertion: identity stays what the IdP signed", async () => {
    const genuine = await idpResponse();
    const edited = tamper(genuine, (doc) => {
      const response = responseOf(doc);
      response.setAttribute("IssueInstant", "2001-01-01T00:00:00Z");
      response.setAttribute("Consent", "urn:oasis:names:tc:SAML:2.0:consent:obtained");
    });
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(edited));
    expect(result.ok && result.value.subject).toBe("alice@example.org");
  });

  it("refuses an edit inside the signed assertion (digest mismatch)", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      impersonate(assertionOf(doc));
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_invalid");
  });
});

describe("signature structure (S3, S5, S6)", () => {
  it("refuses a second SignedInfo (CVE-2025-29774)", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const signature = signatureOf(assertionOf(doc));
      const signedInfo = first(signature, DSIG, "SignedInfo");
      signature.insertBefore(signedInfo.cloneNode(true), signedInfo);
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_wrapping");
  });

  const uris = {
    empty: "",
    "without #": "ASSERTION_ID",
    "with a quote": "#x' or '1'='1",
  } as const;
  for (const [label, uri] of Object.entries(uris)) {
    it(`refuses a Reference URI ${label}`, async () => {
      const edited = tamper(await idpResponse(), (doc) => {
        const assertion = assertionOf(doc);
        const reference = first(signatureOf(assertion), DSIG, "Reference");
        reference.setAttribute(
          "URI",
          uri.replace("ASSERTION_ID", assertion.getAttribute("ID") ?? ""),
        );
      });
      expect(await outcomeOf(edited)).toBe("saml.signature_wrapping");
    });
  }

  it("refuses duplicate IDs", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      responseOf(doc).setAttribute("ID", assertionOf(doc).getAttribute("ID") ?? "");
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_wrapping");
  });

  it("refuses a comment inside DigestValue (CVE-2025-29775)", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const digest = first(signatureOf(assertionOf(doc)), DSIG, "DigestValue");
      digest.appendChild(doc.createComment("x"));
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_invalid");
  });

  it("refuses a response whose signature was removed", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const assertion = assertionOf(doc);
      assertion.removeChild(signatureOf(assertion));
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_missing");
  });

  it("refuses an empty SignatureValue", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      first(signatureOf(assertionOf(doc)), DSIG, "SignatureValue").textContent = "";
    });
    expect(await outcomeOf(edited)).toBe("saml.signature_invalid");
  });
});

describe("signed and unsigned mixes, structure (S7, S8)", () => {
  it("refuses an unsigned assertion inside a signed response", async () => {
    const responseOnly = await idpResponse({}, { responseOnly: true });
    const doc = decode(responseOnly);
    expect(doc.match(/<ds:Signature[\s>]/g)?.length).toBe(1);
    expect(await outcomeOf(responseOnly)).toBe("saml.signature_missing");
  });

  it("refuses a signed assertion with an extra unsigned assertion", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const extra = assertionOf(doc).cloneNode(true) as ReturnType<typeof assertionOf>;
      extra.removeChild(signatureOf(extra));
      extra.setAttribute("ID", "_extra");
      impersonate(extra);
      responseOf(doc).appendChild(extra);
    });
    expect(await outcomeOf(edited)).toBe("saml.assertion_count");
  });

  it("refuses an assertion accompanied by an EncryptedAssertion", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      const encrypted = doc.createElementNS(ASSERTION, "saml:EncryptedAssertion");
      encrypted.appendChild(
        doc.createElementNS("http://www.w3.org/2001/04/xmlenc#", "xenc:EncryptedData"),
      );
      responseOf(doc).appendChild(encrypted);
    });
    expect(await outcomeOf(edited)).toBe("saml.encrypted_assertion_unsupported");
  });

  it("refuses a response without an assertion", async () => {
    const edited = tamper(await idpResponse(), (doc) => {
      responseOf(doc).removeChild(assertionOf(doc));
    });
    expect(await outcomeOf(edited)).toBe("saml.assertion_count");
  });

  it("refuses two root elements (CVE-2022-39299)", async () => {
    const xml = decode(await idpResponse()).replace(/^<\?xml[^>]*\?>/, "");
    expect(await outcomeOf(encode(xml + xml))).toBe("saml.malformed");
  });
});
