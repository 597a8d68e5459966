import { SignedXml } from "xml-crypto";

const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/**
 * Signs `xml` with xml-crypto and the given key, the way samlify signs (rsa-sha256, exc-c14n,
 * enveloped), but with one Reference per id in `referenceIds`, in that order. The Signature goes
 * right after the Issuer of the element whose ID is `placedIn`, where SAML puts it. This builds
 * what no honest IdP sends, such as node-saml's `response.root-signed-2references` fixture.
 */
export function signWithReferences(
  xml: string,
  privateKeyPem: string,
  placedIn: string,
  referenceIds: readonly string[],
): string {
  const signer = new SignedXml({
    privateKey: privateKeyPem,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  for (const id of referenceIds) {
    signer.addReference({
      xpath: `//*[@ID='${id}']`,
      transforms: [ENVELOPED, EXC_C14N],
      digestAlgorithm: SHA256,
    });
  }
  signer.computeSignature(xml, {
    prefix: "ds",
    location: {
      reference: `//*[@ID='${placedIn}']/*[local-name()='Issuer']`,
      action: "after",
    },
  });
  return signer.getSignedXml();
}
