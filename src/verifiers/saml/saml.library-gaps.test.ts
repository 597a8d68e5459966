/**
 * Pins what the libraries leave to us (checklist "Gaps in the libraries themselves"), so that an
 * upgrade changing any of it is noticed: each test states the library behaviour as measured on
 * node-saml 5.1.0 / xml-crypto 6.3.2 and shows our verifier covering the gap.
 */
import { SAML, ValidateInResponseTo } from "@node-saml/node-saml";
import { DOMParser } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import { describe, expect, it } from "vitest";
import { SP, idpResponse, outcomeOf, testIdp } from "./test-support/scenario.js";
import {
  ASSERTION,
  DSIG,
  assertionOf,
  decode,
  first,
  signatureOf,
  tamper,
} from "./test-support/tamper.js";
import { RSA_SHA1, TestIdp, type LoginOptions } from "./test-support/test-idp.js";

/** node-saml configured as the checklist asks; it reads the wall clock, so responses are fresh. */
function nodeSaml(): SAML {
  const idp = testIdp();
  return new SAML({
    callbackUrl: SP.acsUrl,
    issuer: SP.entityId,
    audience: SP.entityId,
    idpCert: idp.keyPair.certificatePem,
    idpIssuer: idp.entityId,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    signatureAlgorithm: "sha256",
    digestAlgorithm: "sha256",
    acceptedClockSkewMs: 0,
    validateInResponseTo: ValidateInResponseTo.never,
  });
}

async function nodeSamlAccepts(samlResponse: string): Promise<boolean> {
  try {
    const { profile } = await nodeSaml().validatePostResponseAsync({ SAMLResponse: samlResponse });
    return profile !== null;
  } catch {
    return false;
  }
}

/** A response issued now (node-saml cannot be given a clock), verified by us at the same instant. */
async function freshResponse(tags: LoginOptions["tags"] = {}): Promise<{
  samlResponse: string;
  now: Date;
}> {
  const now = new Date();
  return { samlResponse: await idpResponse({ issuedAt: now, tags }), now };
}

describe("@node-saml/node-saml 5.1.0", () => {
  it("accepts the genuine response (the baseline for the pins below)", async () => {
    const { samlResponse, now } = await freshResponse();
    expect(await nodeSamlAccepts(samlResponse)).toBe(true);
    expect(await outcomeOf(samlResponse, { now })).toBe("ok");
  });

  it("does not check a login Response's Issuer; we do", async () => {
    const { samlResponse, now } = await freshResponse({ Issuer: "https://idp.other.example/saml" });
    expect(await nodeSamlAccepts(samlResponse)).toBe(true);
    expect(await outcomeOf(samlResponse, { now })).toBe("saml.issuer_mismatch");
  });

  it("does not check the Response Destination; we do", async () => {
    const { samlResponse, now } = await freshResponse({ Destination: "https://evil.example/acs" });
    expect(await nodeSamlAccepts(samlResponse)).toBe(true);
    expect(await outcomeOf(samlResponse, { now })).toBe("saml.destination_mismatch");
  });

  it("does not check SubjectConfirmationData/@Recipient; we do", async () => {
    const { samlResponse, now } = await freshResponse({
      SubjectRecipient: "https://evil.example/acs",
    });
    expect(await nodeSamlAccepts(samlResponse)).toBe(true);
    expect(await outcomeOf(samlResponse, { now })).toBe("saml.recipient_mismatch");
  });
});

describe("xml-crypto 6.3.2", () => {
  function verifyAssertionSignature(samlResponse: string, publicCert?: string): SignedXml {
    const xml = decode(samlResponse);
    const doc = new DOMParser().parseFromString(xml, "text/xml");
    const verifier = new SignedXml(publicCert === undefined ? {} : { publicCert });
    verifier.loadSignature(
      signatureOf(assertionOf(doc)) as unknown as Parameters<SignedXml["loadSignature"]>[0],
    );
    verifier.checkSignature(xml);
    return verifier;
  }

  it("still verifies a response with a comment splitting the NameID; we refuse it", async () => {
    const split = tamper(await idpResponse(), (doc) => {
      const nameId = first(assertionOf(doc), ASSERTION, "NameID");
      nameId.insertBefore(doc.createComment("x"), nameId.lastChild);
    });
    const verifier = verifyAssertionSignature(split, testIdp().keyPair.certificatePem);
    expect(verifier.getSignedReferences()).toHaveLength(1);
    expect(await outcomeOf(split)).toBe("saml.comment_in_value");
  });

  it("verifies rsa-sha1 by default; our allow-list refuses it", async () => {
    const sha1 = await idpResponse(
      {},
      {},
      new TestIdp({ keyPair: testIdp().keyPair, signatureAlgorithm: RSA_SHA1 }),
    );
    const verifier = verifyAssertionSignature(sha1, testIdp().keyPair.certificatePem);
    expect(verifier.getSignedReferences()).toHaveLength(1);
    expect(await outcomeOf(sha1)).toBe("saml.signature_algorithm");
  });

  it("no longer trusts KeyInfo by default (fixed in 6.0.0, CVE-2024-32962)", async () => {
    const attacker = new TestIdp({ entityId: testIdp().entityId });
    const forged = await idpResponse({}, {}, attacker);
    expect(() => verifyAssertionSignature(forged)).toThrow(/KeyInfo or publicCert or privateKey/);
    expect(await outcomeOf(forged)).toBe("saml.signature_invalid");
  });

  it("accepts more than two transforms; our allow-list refuses them", async () => {
    const transforms = [
      "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
      "http://www.w3.org/2001/10/xml-exc-c14n#",
      "http://www.w3.org/2001/10/xml-exc-c14n#",
    ];
    const response = await idpResponse({}, { transforms });
    const doc = new DOMParser().parseFromString(decode(response), "text/xml");
    expect(doc.getElementsByTagNameNS(DSIG, "Transform").length).toBe(3);
    const verifier = verifyAssertionSignature(response, testIdp().keyPair.certificatePem);
    expect(verifier.getSignedReferences()).toHaveLength(1);
    expect(await outcomeOf(response)).toBe("saml.signature_algorithm");
  });
});
