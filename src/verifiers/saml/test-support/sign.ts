import { createHash, sign } from "node:crypto";
import { DOMParser, XMLSerializer } from "@xmldom/xmldom";
import type { Document, Element } from "@xmldom/xmldom";
import { SignedXml, type HashAlgorithm, type SignatureAlgorithm } from "xml-crypto";
import { ASSERTION, assertionOf, decode, encode, responseOf, signatureOf } from "./tamper.js";

const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
export const ECDSA_SHA1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1";
export const ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
export const ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
export const ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";
export const RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
/** RFC 6931 §2.1.3. */
export const SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384";
export const SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1";

/** The algorithms a test signature is made with; samlify's (rsa-sha256, exc-c14n, sha256) by default. */
export interface SigningAlgorithms {
  /** SignedInfo's SignatureMethod. */
  readonly signature?: string;
  /** SignedInfo's CanonicalizationMethod. */
  readonly canonicalization?: string;
  /** Each Reference's DigestMethod. */
  readonly digest?: string;
  /** Each Reference's transforms; enveloped and exc-c14n by default. */
  readonly transforms?: readonly string[];
  /**
   * How an ECDSA SignatureValue is encoded: r‖s as XML-DSig 1.1 §6.4.3 says (the default), or
   * the ASN.1 DER that node, TLS and X.509 use, which an IdP getting it wrong would send.
   */
  readonly ecdsaEncoding?: "ieee-p1363" | "der";
  /** A certificate (PEM) the Signature carries in KeyInfo/X509Data, as samlify's does. */
  readonly keyInfoCertificate?: string;
}

/**
 * ECDSA signing classes for xml-crypto, which has none: what an ECDSA IdP does, written apart
 * from the verifier's, so that the two do not share a mistake. ecdsa-sha1 too, for refusals.
 */
function ecdsaSigners(
  encoding: "ieee-p1363" | "der",
): Record<string, new () => SignatureAlgorithm> {
  const signer = (uri: string, hash: string) =>
    class {
      getSignature(signedInfo: string, privateKey: string): string {
        return sign(hash, Buffer.from(signedInfo), {
          key: privateKey,
          dsaEncoding: encoding,
        }).toString("base64");
      }
      verifySignature(): boolean {
        throw new Error("a test signer does not verify");
      }
      getAlgorithmName(): string {
        return uri;
      }
    } as unknown as new () => SignatureAlgorithm;
  return {
    [ECDSA_SHA1]: signer(ECDSA_SHA1, "sha1"),
    [ECDSA_SHA256]: signer(ECDSA_SHA256, "sha256"),
    [ECDSA_SHA384]: signer(ECDSA_SHA384, "sha384"),
    [ECDSA_SHA512]: signer(ECDSA_SHA512, "sha512"),
  };
}

/**
 * rsa-sha384 (PKCS#1 v1.5, RFC 6931 §2.3.3) and the SHA-384 digest, which xml-crypto 6 lacks:
 * written apart from the verifier's, as the ECDSA signers are.
 */
const rsaSha384Signer = class {
  getSignature(signedInfo: string, privateKey: string): string {
    return sign("sha384", Buffer.from(signedInfo), privateKey).toString("base64");
  }
  verifySignature(): boolean {
    throw new Error("a test signer does not verify");
  }
  getAlgorithmName(): string {
    return RSA_SHA384;
  }
} as unknown as new () => SignatureAlgorithm;

const sha384Digest = class implements HashAlgorithm {
  getHash(xml: string): string {
    return createHash("sha384").update(xml, "utf8").digest("base64");
  }
  getAlgorithmName(): string {
    return SHA384;
  }
};

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
    ...(algorithms.keyInfoCertificate === undefined
      ? {}
      : { publicCert: algorithms.keyInfoCertificate }),
  });
  signer.SignatureAlgorithms = {
    ...signer.SignatureAlgorithms,
    ...ecdsaSigners(algorithms.ecdsaEncoding ?? "ieee-p1363"),
    [RSA_SHA384]: rsaSha384Signer,
  };
  signer.HashAlgorithms = { ...signer.HashAlgorithms, [SHA384]: sha384Digest };
  for (const id of referenceIds) {
    signer.addReference({
      xpath: `//*[@ID='${id}']`,
      transforms: [...(algorithms.transforms ?? [ENVELOPED, EXC_C14N])],
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
 * The IdP's response with every signature removed and made anew by `privateKeyPem` with
 * `algorithms`: the assertion's when `signed.assertion`, then the Response's (over the signed
 * assertion) when `signed.response`, as an IdP signing both does. This is how the test IdP signs
 * with an ECDSA key, which samlify's xml-crypto has no algorithm for.
 */
export function resignResponse(
  samlResponse: string,
  privateKeyPem: string,
  signed: { readonly assertion: boolean; readonly response: boolean },
  algorithms: SigningAlgorithms = {},
): string {
  const doc = new DOMParser().parseFromString(decode(samlResponse), "text/xml");
  const response = responseOf(doc);
  const assertions = Array.from(doc.getElementsByTagNameNS(ASSERTION, "Assertion"));
  for (const element of [response, ...assertions]) {
    const signature = Array.from(element.childNodes).find(
      (n): n is Element =>
        n.nodeType === n.ELEMENT_NODE && (n as Element).localName === "Signature",
    );
    if (signature !== undefined) element.removeChild(signature);
  }
  let xml = new XMLSerializer().serializeToString(doc);
  const assertionId = assertionOf(doc).getAttribute("ID") ?? "";
  const responseId = response.getAttribute("ID") ?? "";
  if (signed.assertion) {
    xml = signWithReferences(xml, privateKeyPem, assertionId, [assertionId], algorithms);
  }
  if (signed.response) {
    xml = signWithReferences(xml, privateKeyPem, responseId, [responseId], algorithms);
  }
  return encode(xml);
}
