/**
 * Pins checks of the SAML verifier that no other test failed without (a manual mutation survey:
 * each check deleted or weakened in turn). Each response here is what the real IdP sent with one
 * thing changed, signed by the IdP's own key wherever the change is inside what it signs, so the
 * named check is the only one that can refuse it; each `it` names what it refuses.
 */
import { createPublicKey } from "node:crypto";
import { DOMParser } from "@xmldom/xmldom";
import type { Document, Element } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  NOW,
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { exceedsDepth } from "./harden.js";
import { verifySignedReference } from "./signature.js";
import { resignAssertion, signWithReferences } from "./test-support/sign.js";
import { rewriteSignedBytes } from "./test-support/signed-bytes.js";
import {
  ASSERTION,
  DSIG,
  PROTOCOL,
  assertionOf,
  decode,
  encode,
  first,
  responseOf,
  signatureOf,
  tamper,
} from "./test-support/tamper.js";

type Edit = (doc: Document) => void;

afterEach(() => {
  vi.restoreAllMocks();
});

/** The genuine response with `edit` made outside the assertion, whose signature still holds. */
async function envelopeEdited(edit: Edit): Promise<string> {
  return tamper(await idpResponse(), edit);
}

/** The genuine response with `edit` made, then its Response signed as well by the IdP's key. */
async function signedEnvelopeEdited(edit: Edit): Promise<string> {
  const edited = decode(await envelopeEdited(edit));
  const id = responseOf(parse(edited)).getAttribute("ID") ?? "";
  return encode(signWithReferences(edited, testIdp().keyPair.privateKeyPem, id, [id]));
}

/** The genuine response with `edit` made to its assertion, signed anew by the IdP's key. */
async function assertionEdited(edit: Edit): Promise<string> {
  return resignAssertion(await idpResponse(), testIdp().keyPair.privateKeyPem, edit);
}

function parse(xml: string): Document {
  return new DOMParser().parseFromString(xml, "text/xml");
}

/** A `samlp:Extensions` in the Response, where the schema allows any foreign content. */
function extensionsOf(doc: Document): Element {
  const response = responseOf(doc);
  const extensions = doc.createElementNS(PROTOCOL, "samlp:Extensions");
  response.insertBefore(extensions, first(response, PROTOCOL, "Status"));
  return extensions;
}

function cloneOf(element: Element): Element {
  return element.cloneNode(true) as Element;
}

/** `element`'s next sibling element, where a second copy of it goes. */
function insertAfter(element: Element, added: Element): void {
  element.parentNode?.insertBefore(added, element.nextSibling);
}

/** The outcome of `samlResponse`, which xml-crypto must not have been asked to verify. */
async function refusedUnverified(samlResponse: string): Promise<string> {
  const loadSignature = vi.spyOn(SignedXml.prototype, "loadSignature");
  const outcome = await outcomeOf(samlResponse);
  expect(loadSignature).not.toHaveBeenCalled();
  return outcome;
}

describe("baseline: each way of building a response below, with nothing changed, is accepted", () => {
  const unchanged: Edit = () => undefined;

  it("accepts the envelope unchanged", async () => {
    expect(await outcomeOf(await envelopeEdited(unchanged))).toBe("ok");
  });

  it("accepts the envelope with an empty Extensions", async () => {
    expect(await outcomeOf(await envelopeEdited((doc) => void extensionsOf(doc)))).toBe("ok");
  });

  it("accepts the envelope signed by the IdP as well", async () => {
    expect(await outcomeOf(await signedEnvelopeEdited(unchanged))).toBe("ok");
  });

  it("accepts the assertion signed anew by the IdP", async () => {
    expect(await outcomeOf(await assertionEdited(unchanged))).toBe("ok");
  });
});

describe("the Response root (structure.ts findRoot)", () => {
  it("refuses a root that is not a samlp:Response, though it carries the signed assertion", async () => {
    const xml = decode(await idpResponse())
      .replace("<samlp:Response ", "<samlp:ArtifactResponse ")
      .replace("</samlp:Response>", "</samlp:ArtifactResponse>");
    expect(xml).toContain("<samlp:ArtifactResponse ");
    expect(await outcomeOf(encode(xml))).toBe("saml.malformed");
  });

  it("refuses a root named Response in another namespace than SAML protocol's", async () => {
    const xml = decode(await idpResponse())
      .replace("<samlp:Response ", '<evil:Response xmlns:evil="urn:example:evil" ')
      .replace("</samlp:Response>", "</evil:Response>");
    expect(await outcomeOf(encode(xml))).toBe("saml.malformed");
  });

  it("refuses a Response whose Version is not 2.0", async () => {
    const response = await envelopeEdited((doc) => {
      responseOf(doc).setAttribute("Version", "2.1");
    });
    expect(await outcomeOf(response)).toBe("saml.malformed");
  });
});

describe("layouts that wrap a signature (structure.ts locateResponseParts, S2, S3, S7, S8)", () => {
  it("refuses a second element with the assertion's ID, before xml-crypto reads any signature", async () => {
    const response = await envelopeEdited((doc) => {
      const copy = doc.createElementNS("urn:example:wrap", "w:Copy");
      copy.setAttribute("ID", assertionOf(doc).getAttribute("ID") ?? "");
      extensionsOf(doc).appendChild(copy);
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_wrapping");
  });

  it("refuses an element carrying the unsigned Response's own ID", async () => {
    // No signature references the Response here: only the structure check sees the twin.
    const response = await envelopeEdited((doc) => {
      const twin = doc.createElementNS("urn:example:wrap", "w:Twin");
      twin.setAttribute("ID", responseOf(doc).getAttribute("ID") ?? "");
      extensionsOf(doc).appendChild(twin);
    });
    expect(await outcomeOf(response)).toBe("saml.signature_wrapping");
  });

  it("refuses an element whose lowercase id repeats the unsigned Response's ID", async () => {
    // xml-crypto resolves #x against ID, Id and id alike, so each counts as an ID.
    const response = await envelopeEdited((doc) => {
      const twin = doc.createElementNS("urn:example:wrap", "w:Twin");
      twin.setAttribute("id", responseOf(doc).getAttribute("ID") ?? "");
      extensionsOf(doc).appendChild(twin);
    });
    expect(await outcomeOf(response)).toBe("saml.signature_wrapping");
  });

  it("refuses a Response nested inside the Response, even one holding no assertion", async () => {
    const response = await envelopeEdited((doc) => {
      const nested = cloneOf(responseOf(doc));
      nested.removeChild(first(nested, ASSERTION, "Assertion"));
      nested.setAttribute("ID", "_nested_response");
      extensionsOf(doc).appendChild(nested);
    });
    expect(await outcomeOf(response)).toBe("saml.signature_wrapping");
  });

  it("refuses an unsigned Assertion with an ID of its own outside the Response's children", async () => {
    const response = await envelopeEdited((doc) => {
      const evil = cloneOf(assertionOf(doc));
      evil.removeChild(signatureOf(evil));
      evil.setAttribute("ID", "_evil_assertion");
      extensionsOf(doc).appendChild(evil);
    });
    expect(await outcomeOf(response)).toBe("saml.signature_wrapping");
  });

  it("refuses a ds:Object anywhere in the response, not only inside a Signature", async () => {
    const response = await envelopeEdited((doc) => {
      extensionsOf(doc).appendChild(doc.createElementNS(DSIG, "ds:Object"));
    });
    expect(await outcomeOf(response)).toBe("saml.signature_wrapping");
  });

  // xml-crypto refuses a second copy of the Signature it verifies as well; these are refused
  // before it is asked, so that a library change cannot let them through.
  it("refuses a copy of the assertion's Signature outside its place, before xml-crypto reads it", async () => {
    const response = await envelopeEdited((doc) => {
      extensionsOf(doc).appendChild(cloneOf(signatureOf(assertionOf(doc))));
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_wrapping");
  });

  it("refuses a Response carrying two Signatures, before xml-crypto reads either", async () => {
    const doubled = tamper(await signedEnvelopeEdited(() => undefined), (doc) => {
      const signature = signatureOf(responseOf(doc));
      insertAfter(signature, cloneOf(signature));
    });
    expect(await refusedUnverified(doubled)).toBe("saml.signature_wrapping");
  });

  it("refuses an Assertion carrying two Signatures, before xml-crypto reads either", async () => {
    const response = await envelopeEdited((doc) => {
      const signature = signatureOf(assertionOf(doc));
      insertAfter(signature, cloneOf(signature));
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_wrapping");
  });
});

describe("the Response envelope (checks.ts checkEnvelope, S12)", () => {
  it("refuses a Response with a second Issuer after the registered one", async () => {
    const response = await envelopeEdited((doc) => {
      const issuer = first(responseOf(doc), ASSERTION, "Issuer");
      const other = cloneOf(issuer);
      other.textContent = "https://idp.other.example/saml";
      insertAfter(issuer, other);
    });
    expect(await outcomeOf(response)).toBe("saml.malformed");
  });

  it("refuses a Response signed by the IdP that names no Issuer (Profiles §4.1.4.2)", async () => {
    const response = await signedEnvelopeEdited((doc) => {
      const response = responseOf(doc);
      response.removeChild(first(response, ASSERTION, "Issuer"));
    });
    expect(decode(response)).toMatch(/<samlp:Response[^>]*><ds:Signature/);
    expect(await outcomeOf(response)).toBe("saml.issuer_mismatch");
  });

  it("refuses a Response Issuer whose Format is not an entity name", async () => {
    const response = await envelopeEdited((doc) => {
      first(responseOf(doc), ASSERTION, "Issuer").setAttribute(
        "Format",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      );
    });
    expect(await outcomeOf(response)).toBe("saml.issuer_mismatch");
  });
});

describe("the signed assertion (checks.ts readAssertion)", () => {
  it("refuses an assertion whose Version is not 2.0", async () => {
    const response = await assertionEdited((doc) => {
      assertionOf(doc).setAttribute("Version", "1.1");
    });
    expect(await outcomeOf(response)).toBe("saml.malformed");
  });

  it("refuses an assertion with a second Issuer after the registered one", async () => {
    const response = await assertionEdited((doc) => {
      const issuer = first(assertionOf(doc), ASSERTION, "Issuer");
      const other = cloneOf(issuer);
      other.textContent = "https://idp.other.example/saml";
      insertAfter(issuer, other);
    });
    expect(await outcomeOf(response)).toBe("saml.issuer_mismatch");
  });

  it("refuses an assertion Issuer whose Format is not an entity name", async () => {
    const response = await assertionEdited((doc) => {
      first(assertionOf(doc), ASSERTION, "Issuer").setAttribute(
        "Format",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
      );
    });
    expect(await outcomeOf(response)).toBe("saml.issuer_mismatch");
  });

  it("refuses an assertion without an IssueInstant", async () => {
    const response = await assertionEdited((doc) => {
      assertionOf(doc).removeAttribute("IssueInstant");
    });
    expect(await outcomeOf(response)).toBe("saml.malformed");
  });

  it("refuses an assertion with a second Subject naming someone else", async () => {
    const response = await assertionEdited((doc) => {
      const subject = first(assertionOf(doc), ASSERTION, "Subject");
      const other = cloneOf(subject);
      first(other, ASSERTION, "NameID").textContent = "attacker@evil.example";
      insertAfter(subject, other);
    });
    expect(await outcomeOf(response)).toBe("saml.subject_missing");
  });

  it("refuses a Subject with a second NameID", async () => {
    const response = await assertionEdited((doc) => {
      const nameId = first(assertionOf(doc), ASSERTION, "NameID");
      const other = cloneOf(nameId);
      other.textContent = "attacker@evil.example";
      insertAfter(nameId, other);
    });
    expect(await outcomeOf(response)).toBe("saml.subject_missing");
  });

  it("refuses a NameID holding an element beside its text", async () => {
    const response = await assertionEdited((doc) => {
      const nameId = first(assertionOf(doc), ASSERTION, "NameID");
      nameId.appendChild(doc.createElementNS("urn:example:wrap", "w:Suffix"));
    });
    expect(await outcomeOf(response)).toBe("saml.malformed");
  });

  it("refuses a NameID of white space only", async () => {
    const response = await assertionEdited((doc) => {
      first(assertionOf(doc), ASSERTION, "NameID").textContent = "  ";
    });
    expect(await outcomeOf(response)).toBe("saml.subject_missing");
  });
});

describe("the bearer confirmation (checks.ts addressedBearer, S15)", () => {
  it("refuses a bearer confirmation carrying a second data element for another Recipient", async () => {
    const response = await assertionEdited((doc) => {
      const data = first(assertionOf(doc), ASSERTION, "SubjectConfirmationData");
      const other = cloneOf(data);
      other.setAttribute("Recipient", "https://evil.example/acs");
      insertAfter(data, other);
    });
    expect(await outcomeOf(response)).toBe("saml.subject_confirmation");
  });
});

describe("the conditions (checks.ts checkConditions, S14, S17)", () => {
  it("refuses an assertion with a second Conditions restricting it to another SP", async () => {
    // Read as one set, the second restriction would leave us out (Core §2.5.1.4): ignoring it
    // would accept an assertion the IdP meant for someone else too.
    const response = await assertionEdited((doc) => {
      const conditions = first(assertionOf(doc), ASSERTION, "Conditions");
      const other = cloneOf(conditions);
      first(other, ASSERTION, "Audience").textContent = "https://other-sp.example";
      insertAfter(conditions, other);
    });
    expect(await outcomeOf(response)).toBe("saml.audience_mismatch");
  });

  it("refuses a condition of another namespace named like one this SP understands", async () => {
    const response = await assertionEdited((doc) => {
      const conditions = first(assertionOf(doc), ASSERTION, "Conditions");
      const foreign = doc.createElementNS("urn:example:conditions", "x:AudienceRestriction");
      conditions.appendChild(foreign);
    });
    expect(await outcomeOf(response)).toBe("saml.condition_unknown");
  });
});

describe("the statements (checks.ts readAuthnStatements, readAttributes)", () => {
  it("refuses an AuthnStatement without an AuthnInstant", async () => {
    const response = await assertionEdited((doc) => {
      first(assertionOf(doc), ASSERTION, "AuthnStatement").removeAttribute("AuthnInstant");
    });
    expect(await outcomeOf(response)).toBe("saml.malformed");
  });

  it("refuses an Attribute without a Name", async () => {
    const response = await assertionEdited((doc) => {
      first(assertionOf(doc), ASSERTION, "Attribute").removeAttribute("Name");
    });
    expect(await outcomeOf(response)).toBe("saml.malformed");
  });

  it("keeps an attribute named like an Object property as an attribute", async () => {
    const response = await assertionEdited((doc) => {
      first(assertionOf(doc), ASSERTION, "Attribute").setAttribute("Name", "constructor");
    });
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(response));
    expect(result.ok && result.value.attributes["constructor"]).toEqual(["alice@example.org"]);
  });

  it("leaves out an AttributeValue with element content rather than refusing the assertion", async () => {
    // eduPersonTargetedID, for one, carries a NameID element as its value.
    const response = await assertionEdited((doc) => {
      const value = first(assertionOf(doc), ASSERTION, "AttributeValue");
      value.textContent = "";
      const nameId = doc.createElementNS(ASSERTION, "saml:NameID");
      nameId.textContent = "targeted-id";
      value.appendChild(nameId);
    });
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(response));
    expect(result.ok && result.value.attributes["mail"]).toEqual([]);
  });
});

describe("what the verifier hands on (checks.ts)", () => {
  it("takes an empty InResponseTo for none: an unsolicited answer, where those are allowed", async () => {
    const idp = testIdp();
    const response = await idpResponse(
      { tags: { InResponseTo: "", SubjectInResponseTo: "" } },
      {},
      idp,
      null,
    );
    expect(decode(response)).toContain('InResponseTo=""');
    const result = await protocol.verifyResponse(
      SP,
      idp.settings({ allowUnsolicited: true }),
      verification(response, { expectedRequestId: undefined }),
    );
    expect(result.ok && result.value.inResponseTo).toBeUndefined();
    expect(result.ok).toBe(true);
  });

  it("reports as expiresAt the end of a bearer confirmation that fails only for its InResponseTo", async () => {
    // That confirmation passes when the answer is posted as unsolicited; the assertion id must
    // stay claimed until it ends, or the answer is accepted a second time that way.
    const later = new Date(NOW.getTime() + 60 * 60 * 1000);
    const response = await assertionEdited((doc) => {
      const confirmation = first(assertionOf(doc), ASSERTION, "SubjectConfirmation");
      const other = cloneOf(confirmation);
      const data = first(other, ASSERTION, "SubjectConfirmationData");
      data.setAttribute("NotOnOrAfter", later.toISOString());
      data.setAttribute("InResponseTo", "_another_request");
      insertAfter(confirmation, other);
    });
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(response));
    expect(result.ok && result.value.expiresAt.toISOString()).toBe(later.toISOString());
  });

  it("reports the SessionIndex of the first AuthnStatement", async () => {
    const response = await assertionEdited((doc) => {
      const statement = first(assertionOf(doc), ASSERTION, "AuthnStatement");
      const second = cloneOf(statement);
      second.setAttribute("SessionIndex", "_session2");
      insertAfter(statement, second);
    });
    const result = await protocol.verifyResponse(SP, testIdp().settings(), verification(response));
    expect(result.ok && result.value.sessionIndex).toBe("_session1");
  });
});

describe("the shape of a signature, checked before xml-crypto reads it (signature.ts, S3, S5, S10)", () => {
  it("refuses a second SignedInfo (CVE-2025-29774) before xml-crypto reads the signature", async () => {
    const response = await envelopeEdited((doc) => {
      const signature = signatureOf(assertionOf(doc));
      const signedInfo = first(signature, DSIG, "SignedInfo");
      insertAfter(signedInfo, cloneOf(signedInfo));
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_wrapping");
  });

  /** The genuine response with the assertion Signature's `localName` element, under `parent`, doubled. */
  const doubled = (parent: string, localName: string) =>
    envelopeEdited((doc) => {
      const scope = first(signatureOf(assertionOf(doc)), DSIG, parent);
      const element = parent === localName ? scope : first(scope, DSIG, localName);
      insertAfter(element, cloneOf(element));
    });

  it("refuses a second SignatureValue before xml-crypto reads the signature", async () => {
    expect(await refusedUnverified(await doubled("SignatureValue", "SignatureValue"))).toBe(
      "saml.signature_invalid",
    );
  });

  it("refuses a second SignatureMethod before xml-crypto reads the signature", async () => {
    expect(await refusedUnverified(await doubled("SignedInfo", "SignatureMethod"))).toBe(
      "saml.signature_algorithm",
    );
  });

  it("refuses the transforms split over two Transforms before xml-crypto reads the signature", async () => {
    // Two transforms in all, as allowed: only the second Transforms element is wrong.
    const response = await envelopeEdited((doc) => {
      const transforms = first(signatureOf(assertionOf(doc)), DSIG, "Transforms");
      const second = doc.createElementNS(DSIG, "ds:Transforms");
      const last = transforms.lastChild as Element;
      second.appendChild(last);
      insertAfter(transforms, second);
    });
    expect(decode(response).match(/<ds:Transform /g)).toHaveLength(2);
    expect(await refusedUnverified(response)).toBe("saml.signature_algorithm");
  });

  it("refuses a Reference to an ID that is no xs:ID (NCName), though the IdP signed it so", async () => {
    const response = await assertionEdited((doc) => {
      assertionOf(doc).setAttribute("ID", "_assertion:1");
    });
    expect(decode(response)).toContain('URI="#_assertion:1"');
    expect(await outcomeOf(response)).toBe("saml.signature_wrapping");
  });

  it("refuses an assertion Signature referencing the Response, before xml-crypto reads it", async () => {
    const response = await envelopeEdited((doc) => {
      const reference = first(signatureOf(assertionOf(doc)), DSIG, "Reference");
      reference.setAttribute("URI", `#${responseOf(doc).getAttribute("ID") ?? ""}`);
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_wrapping");
  });

  it("refuses a Reference URI that is not #ID though the rest of it names the assertion", async () => {
    const response = await envelopeEdited((doc) => {
      const assertion = assertionOf(doc);
      const reference = first(signatureOf(assertion), DSIG, "Reference");
      reference.setAttribute("URI", `x${assertion.getAttribute("ID") ?? ""}`);
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_wrapping");
  });

  it("refuses a second DigestValue before xml-crypto reads the signature", async () => {
    expect(await refusedUnverified(await doubled("SignedInfo", "DigestValue"))).toBe(
      "saml.signature_invalid",
    );
  });

  it("refuses a SignatureValue split by a comment before xml-crypto reads the signature", async () => {
    const response = await envelopeEdited((doc) => {
      const value = first(signatureOf(assertionOf(doc)), DSIG, "SignatureValue");
      value.insertBefore(doc.createComment("x"), value.firstChild);
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_invalid");
  });

  it("refuses a DigestValue holding an element before xml-crypto reads the signature", async () => {
    const response = await envelopeEdited((doc) => {
      const value = first(signatureOf(assertionOf(doc)), DSIG, "DigestValue");
      value.appendChild(doc.createElementNS("urn:example:wrap", "w:Tail"));
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_invalid");
  });

  it("refuses a SignedInfo without a Reference before xml-crypto reads the signature", async () => {
    const response = await envelopeEdited((doc) => {
      const signedInfo = first(signatureOf(assertionOf(doc)), DSIG, "SignedInfo");
      signedInfo.removeChild(first(signedInfo, DSIG, "Reference"));
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_invalid");
  });

  it("refuses a transform that is not a ds:Transform before xml-crypto reads the signature", async () => {
    const response = await envelopeEdited((doc) => {
      const transforms = first(signatureOf(assertionOf(doc)), DSIG, "Transforms");
      const foreign = doc.createElementNS("urn:example:wrap", "w:Transform");
      foreign.setAttribute("Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#");
      transforms.replaceChild(foreign, first(transforms, DSIG, "Transform"));
    });
    expect(await refusedUnverified(response)).toBe("saml.signature_algorithm");
  });
});

describe("what xml-crypto refuses, past our own checks (signature.ts verifySignedReference)", () => {
  it("reports a wrapped layout xml-crypto finds as wrapping, not as a key that did not fit", async () => {
    // Called past the structure check, as a layout it missed would reach xml-crypto.
    const xml = decode(
      await envelopeEdited((doc) => {
        const copy = doc.createElementNS("urn:example:wrap", "w:Copy");
        copy.setAttribute("ID", assertionOf(doc).getAttribute("ID") ?? "");
        extensionsOf(doc).appendChild(copy);
      }),
    );
    const signature = signatureOf(assertionOf(parse(xml)));
    const keys = [createPublicKey(testIdp().keyPair.certificatePem)];
    const result = verifySignedReference(xml, signature, keys);
    expect(!result.ok && result.rejection.code).toBe("saml.signature_wrapping");
  });

  it("says so when none of the IdP's registered certificates can be read", async () => {
    const result = await protocol.verifyResponse(
      SP,
      testIdp().settings({ signingCertificates: ["not a certificate"] }),
      verification(await idpResponse()),
    );
    expect(!result.ok && result.rejection.code).toBe("saml.signature_invalid");
    expect(!result.ok && result.rejection.detail).toBe(
      "the IdP has no usable registered certificate",
    );
  });
});

describe("decoding the post (harden.ts decodeBase64Xml)", () => {
  it("refuses the genuine response encoded with stray bits in its last base64 character", async () => {
    // Node's decoder ignores the bits padding leaves over, so this decodes to the genuine bytes.
    let xml = decode(await idpResponse());
    while (Buffer.byteLength(xml) % 3 !== 2) xml += " ";
    const canonical = encode(xml);
    expect(canonical.endsWith("=")).toBe(true);
    const last = canonical.charAt(canonical.length - 2);
    const strayed = `${canonical.slice(0, -2)}${String.fromCharCode(last.charCodeAt(0) + 1)}=`;
    expect(Buffer.from(strayed, "base64").toString("utf8")).toBe(xml);
    expect(await outcomeOf(canonical)).toBe("ok");
    expect(await outcomeOf(strayed)).toBe("saml.malformed");
  });
});

describe("the nesting limit (harden.ts exceedsDepth, S21)", () => {
  /**
   * The genuine response with `levels` elements nested in its Extensions, at depth 3 and on,
   * around `innermost`.
   */
  const nestedIn = async (levels: number, open = "<w:a>", innermost = "x") => {
    const nested = `${open.repeat(levels)}${innermost}${"</w:a>".repeat(levels)}`;
    const xml = decode(await idpResponse()).replace(
      "<samlp:Status>",
      `<samlp:Extensions xmlns:w="urn:example:deep">${nested}</samlp:Extensions><samlp:Status>`,
    );
    return encode(xml);
  };

  it("accepts elements nested exactly 32 deep (the default limit) and refuses 33", async () => {
    // Response and Extensions are the first two levels.
    expect(await outcomeOf(await nestedIn(30))).toBe("ok");
    expect(await outcomeOf(await nestedIn(31))).toBe("saml.too_large");
  });

  it("counts an element whose attribute value holds '/>' as open", async () => {
    expect(await outcomeOf(await nestedIn(31, '<w:a v="/>">'))).toBe("saml.too_large");
  });

  // A self-closing innermost element was counted one level short: 33 deep passed.
  it("counts a self-closing innermost element at its own depth: 32 accepted, 33 refused", async () => {
    expect(await outcomeOf(await nestedIn(29, "<w:a>", "<w:b/>"))).toBe("ok");
    expect(await outcomeOf(await nestedIn(30, "<w:a>", "<w:b/>"))).toBe("saml.too_large");
  });
});

describe("exceedsDepth at the cap", () => {
  const open = (n: number) => "<a>".repeat(n);
  const close = (n: number) => "</a>".repeat(n);
  it.each([
    ["open innermost, exactly at the cap", `${open(4)}x${close(4)}`, false],
    ["open innermost, one above the cap", `${open(5)}x${close(5)}`, true],
    ["self-closing innermost, exactly at the cap", `${open(3)}<b/>${close(3)}`, false],
    ["self-closing innermost, one above the cap", `${open(4)}<b/>${close(4)}`, true],
    ["self-closing with attributes, one above the cap", `${open(4)}<b c="1" />${close(4)}`, true],
    ["self-closing siblings, exactly at the cap", `${open(3)}<b/><b/><b/>${close(3)}`, false],
  ])("%s (cap 4)", (_name, xml, exceeds) => {
    expect(exceedsDepth(xml, 4)).toBe(exceeds);
  });
});

describe("the signed bytes are the element consumed (verify-response.ts signedElement, S1)", () => {
  it("refuses signed bytes whose root carries another ID than the element consumed", async () => {
    const response = await idpResponse();
    rewriteSignedBytes("<saml:Assertion", (signed) =>
      signed.replace(/ ID="[^"]*"/, ' ID="_another"'),
    );
    expect(await outcomeOf(response)).toBe("saml.signature_wrapping");
  });

  it("refuses signed bytes whose root is another element than the one consumed", async () => {
    const response = await idpResponse();
    rewriteSignedBytes("<saml:Assertion", (signed) =>
      signed
        .replace(/^<saml:Assertion/, "<saml:Advice")
        .replace(/<\/saml:Assertion>$/, "</saml:Advice>"),
    );
    expect(await outcomeOf(response)).toBe("saml.signature_wrapping");
  });
});

describe("the verifier's own inputs (verify-response.ts)", () => {
  it("throws for an invalid now: every time comparison with it would pass", async () => {
    await expect(
      protocol.verifyResponse(
        SP,
        testIdp().settings(),
        verification(await idpResponse(), { now: new Date(Number.NaN) }),
      ),
    ).rejects.toThrow(RangeError);
  });
});
