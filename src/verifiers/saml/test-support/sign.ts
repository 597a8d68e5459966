import { DOMParser, XMLSerializer } from "@xmldom/xmldom";
import type { Document, Element } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import { vi } from "vitest";
import { ASSERTION, assertionOf, decode, encode, signatureOf } from "./tamper.js";

const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/** The algorithms a test signature is made with; samlify's (rsa-sha256, exc-c14n, sha256) by default. */
export interface SigningAlgorithms {
  /** SignedInfo's SignatureMethod. */
  readonly signature?: string;
  /** SignedInfo's CanonicalizationMethod. */
  readonly canonicalization?: string;
  /** Each Reference's DigestMethod. */
  readonly digest?: string;
}

/**
 * Signs `xml` with xml-crypto and the given key, the way samlify signs (rsa-sha256, exc-c14n,
 * enveloped), but with one Reference per id in `referenceIds`, in that order. The Signature goes
 * right after the Issuer of the element whose ID is `placedIn`, where SAML puts it. This builds
 * what no honest IdP sends, such as node-saml's `response.root-signed-2references` fixture, or a
 * signature with one algorithm changed (`algorithms`). An element without an Issuer gets the
 * Signature as its first child instead.
 */
export function signWithReferences(
  xml: string,
  privateKeyPem: string,
  placedIn: string,
  referenceIds: readonly string[],
  algorithms: SigningAlgorithms = {},
): string {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const hasIssuer = Array.from(doc.getElementsByTagNameNS(ASSERTION, "Issuer")).some(
    (issuer) => (issuer.parentNode as Element | null)?.getAttribute("ID") === placedIn,
  );
  const signer = new SignedXml({
    privateKey: privateKeyPem,
    signatureAlgorithm: algorithms.signature ?? RSA_SHA256,
    canonicalizationAlgorithm: algorithms.canonicalization ?? EXC_C14N,
  });
  for (const id of referenceIds) {
    signer.addReference({
      xpath: `//*[@ID='${id}']`,
      transforms: [ENVELOPED, EXC_C14N],
      digestAlgorithm: algorithms.digest ?? SHA256,
    });
  }
  signer.computeSignature(xml, {
    prefix: "ds",
    location: hasIssuer
      ? { reference: `//*[@ID='${placedIn}']/*[local-name()='Issuer']`, action: "after" }
      : { reference: `//*[@ID='${placedIn}']`, action: "prepend" },
  });
  return signer.getSignedXml();
}

/**
 * The IdP's response with its assertion signed anew by `privateKeyPem`: its signature removed,
 * `edit` applied to the unsigned document, then the assertion signed with `algorithms`. With the
 * IdP's own key this is what the IdP would send had it issued the edited assertion: only the
 * edit, or an algorithm, differs from a response the verifier accepts.
 */
export function resignAssertion(
  samlResponse: string,
  privateKeyPem: string,
  edit: (doc: Document) => void = () => undefined,
  algorithms: SigningAlgorithms = {},
): string {
  const doc = new DOMParser().parseFromString(decode(samlResponse), "text/xml");
  const assertion = assertionOf(doc);
  assertion.removeChild(signatureOf(assertion));
  edit(doc);
  const id = assertion.getAttribute("ID") ?? "";
  const unsigned = new XMLSerializer().serializeToString(doc);
  return encode(signWithReferences(unsigned, privateKeyPem, id, [id], algorithms));
}

/**
 * Makes xml-crypto report, for each signed reference whose canonical XML starts with `root`,
 * bytes rewritten by `edit`. The posted document stays the one the IdP signed, so a verifier that
 * read the posted DOM would see the IdP's values; only one reading the signed bytes sees the edit.
 */
export function rewriteSignedBytes(root: string, edit: (signed: string) => string) {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with its own instance
  const signedReferences = SignedXml.prototype.getSignedReferences;
  return vi.spyOn(SignedXml.prototype, "getSignedReferences").mockImplementation(function (
    this: SignedXml,
  ) {
    return signedReferences
      .call(this)
      .map((signed) => (signed.startsWith(root) ? edit(signed) : signed));
  });
}
