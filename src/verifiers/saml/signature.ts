import type { KeyObject } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import {
  attribute,
  childElements,
  childrenNamed,
  descendantElements,
  isCommentOrInstruction,
  isNamed,
} from "./dom.js";
import type { SamlRejection } from "../../app/federation/protocols.js";
import { ECDSA_ALGORITHMS } from "./ecdsa.js";
import { accept, reject, type SamlResult } from "./rejection.js";
import {
  ALLOWED_DIGEST_ALGORITHMS,
  ALLOWED_SIGNATURE_ALGORITHMS,
  ALLOWED_TRANSFORMS,
  EXCLUSIVE_C14N,
  MAX_TRANSFORMS,
  NS,
  RSA_SHA256,
  RSA_SHA384,
  RSA_SHA512,
  SHA256,
  SHA384,
  SHA512,
  SIGNATURE_ALGORITHM_KEY_TYPES,
} from "./saml-names.js";
import { RSA_SHA384_ALGORITHM, SHA384_DIGEST } from "./sha384.js";

type SignatureNode = Parameters<SignedXml["loadSignature"]>[0];
type Refusal = { readonly ok: false; readonly rejection: SamlRejection };

/**
 * What xml-crypto's loadSignature reads as the first element of that local name anywhere in the
 * Signature (`.//*[local-name(.)=…]`), in any namespace, an unsigned KeyInfo placed first included:
 * there must be only the one this check reads, or the library would canonicalise SignedInfo,
 * pick its signature class (rsa-sha256's, which node lets check a DER ECDSA value with an EC key)
 * or take the value by what the signer never signed.
 */
const READ_ANYWHERE = ["CanonicalizationMethod", "SignatureMethod", "SignatureValue"] as const;

/** A same-document reference to an xs:ID: `#` and an NCName, nothing XPath could read. */
const SAME_DOCUMENT_REFERENCE = /^#[A-Za-z_][\w.-]*$/;

/**
 * Checks the shape of an enveloped signature before xml-crypto reads it: one SignedInfo with one
 * Reference to `signed`'s own ID, allowed algorithms only (checklist S3, S5, S10).
 */
export function checkSignatureShape(signature: Element, signed: Element): SamlResult<true> {
  const children = childElements(signature);
  const signedInfos = children.filter((c) => isNamed(c, NS.dsig, "SignedInfo"));
  if (signedInfos.length > 1) {
    // CVE-2025-29774: a second SignedInfo can carry what was actually verified.
    return reject("saml.signature_wrapping", "the Signature has more than one SignedInfo");
  }
  const unexpected = children.find(
    (c) =>
      c.namespaceURI !== NS.dsig ||
      !["SignedInfo", "SignatureValue", "KeyInfo"].includes(c.localName ?? ""),
  );
  if (unexpected !== undefined) {
    // Named in words of our own: the element's name is the sender's to choose.
    return reject("saml.signature_wrapping", "the Signature carries an unexpected element");
  }
  const [signedInfo] = signedInfos;
  const signatureValues = childrenNamed(signature, NS.dsig, "SignatureValue");
  const [signatureValue] = signatureValues;
  if (signedInfo === undefined || signatureValue === undefined || signatureValues.length > 1) {
    return reject("saml.signature_invalid", "the Signature lacks SignedInfo or SignatureValue");
  }
  const value = plainText(signatureValue);
  if (value === undefined || value.trim() === "") {
    return reject("saml.signature_invalid", "the SignatureValue is empty or split");
  }
  const canonicalization = algorithmOf(signedInfo, "CanonicalizationMethod");
  if (canonicalization !== EXCLUSIVE_C14N) {
    return reject("saml.signature_algorithm", "SignedInfo is not canonicalised with exc-c14n");
  }
  const signatureAlgorithm = algorithmOf(signedInfo, "SignatureMethod");
  if (signatureAlgorithm === undefined || !ALLOWED_SIGNATURE_ALGORITHMS.has(signatureAlgorithm)) {
    return reject("saml.signature_algorithm", `signature algorithm ${shorten(signatureAlgorithm)}`);
  }
  const descendants = descendantElements(signature);
  for (const localName of READ_ANYWHERE) {
    if (descendants.filter((d) => d.localName === localName).length > 1) {
      return reject("saml.signature_wrapping", `the Signature holds more than one ${localName}`);
    }
  }
  const references = childrenNamed(signedInfo, NS.dsig, "Reference");
  const [reference] = references;
  if (reference === undefined) {
    return reject("saml.signature_invalid", "SignedInfo has no Reference");
  }
  if (references.length > 1) {
    return reject("saml.signature_wrapping", "SignedInfo has more than one Reference");
  }
  return checkReference(reference, signed);
}

function checkReference(reference: Element, signed: Element): SamlResult<true> {
  const uri = attribute(reference, "URI") ?? "";
  if (!SAME_DOCUMENT_REFERENCE.test(uri)) {
    // "" signs the whole document whatever it holds; no "#" or a quote is how XPath got injected.
    return reject("saml.signature_wrapping", "the Reference URI is not a plain #ID");
  }
  if (uri.slice(1) !== signed.getAttribute("ID")) {
    return reject(
      "saml.signature_wrapping",
      `the Signature does not cover its own <${signed.localName ?? ""}>`,
    );
  }
  const transformLists = childrenNamed(reference, NS.dsig, "Transforms");
  if (transformLists.length > 1) {
    return reject("saml.signature_algorithm", "the Reference has more than one Transforms");
  }
  const transforms = transformLists.flatMap((list) => childElements(list));
  if (transforms.length > MAX_TRANSFORMS) {
    return reject("saml.signature_algorithm", `the Reference has ${transforms.length} transforms`);
  }
  for (const transform of transforms) {
    const algorithm = attribute(transform, "Algorithm");
    if (
      !isNamed(transform, NS.dsig, "Transform") ||
      algorithm === undefined ||
      !ALLOWED_TRANSFORMS.has(algorithm)
    ) {
      return reject("saml.signature_algorithm", `transform ${shorten(algorithm)}`);
    }
  }
  const digestAlgorithm = algorithmOf(reference, "DigestMethod");
  if (digestAlgorithm === undefined || !ALLOWED_DIGEST_ALGORITHMS.has(digestAlgorithm)) {
    return reject("saml.signature_algorithm", `digest algorithm ${shorten(digestAlgorithm)}`);
  }
  const digestValues = childrenNamed(reference, NS.dsig, "DigestValue");
  const [digestValue] = digestValues;
  const digest = digestValue === undefined ? undefined : plainText(digestValue);
  if (digestValues.length !== 1 || digest === undefined || digest.trim() === "") {
    // CVE-2025-29775: a comment inside DigestValue made xml-crypto compare only part of it.
    return reject("saml.signature_invalid", "the DigestValue is missing, repeated or split");
  }
  return accept(true);
}

/**
 * Verifies one enveloped signature with the registered keys only and returns the canonical XML
 * that the signature covers: the only bytes identity may be read from (checklist S1, S9).
 */
export function verifySignedReference(
  xml: string,
  signature: Element,
  keys: readonly KeyObject[],
): SamlResult<string> {
  if (keys.length === 0) {
    return reject("saml.signature_invalid", "the IdP has no usable registered certificate");
  }
  // checkSignatureShape allowed the algorithm; its key type picks the keys that may verify it.
  const [signedInfo] = childrenNamed(signature, NS.dsig, "SignedInfo");
  const algorithm =
    signedInfo === undefined ? undefined : algorithmOf(signedInfo, "SignatureMethod");
  const keyType =
    algorithm === undefined ? undefined : SIGNATURE_ALGORITHM_KEY_TYPES.get(algorithm);
  if (keyType === undefined) {
    return reject("saml.signature_algorithm", `signature algorithm ${shorten(algorithm)}`);
  }
  const usable = keys.filter((key) => key.asymmetricKeyType === keyType);
  if (usable.length === 0) {
    const [signed, held] = keyType === "ec" ? ["an ECDSA", "EC"] : ["an RSA", "RSA"];
    return reject(
      "saml.signature_algorithm",
      `${signed} signature, and no registered certificate holds an ${held} key`,
    );
  }
  for (const key of usable) {
    const verifier = new SignedXml({ publicCert: key, getCertFromKeyInfo: () => null });
    verifier.SignatureAlgorithms = signatureAlgorithms(verifier);
    verifier.HashAlgorithms = hashAlgorithms(verifier);
    let valid: boolean;
    try {
      // xml-crypto types its parameter with the DOM lib's Node; xmldom's Element is that at run time.
      verifier.loadSignature(signature as unknown as SignatureNode);
      valid = verifier.checkSignature(xml);
    } catch (error) {
      const outcome = classifyLibraryError(error);
      if (outcome === "wrong_key") continue;
      return outcome;
    }
    if (!valid) {
      // The digest of the referenced element does not match: no key can fix that.
      return reject("saml.signature_invalid", "the signed content was altered (digest mismatch)");
    }
    const signedReferences = verifier.getSignedReferences();
    const [signedXml] = signedReferences;
    if (signedXml === undefined || signedReferences.length !== 1) {
      return reject("saml.signature_wrapping", "the signature does not cover exactly one element");
    }
    return accept(signedXml);
  }
  return reject(
    "saml.signature_invalid",
    "the signature does not verify with any registered certificate",
  );
}

/**
 * The allowed algorithms only, each verified with `verifier`'s own class for rsa-sha256 and
 * rsa-sha512 and ours for rsa-sha384 and ECDSA (xml-crypto 6 has none): rsa-sha1 and the rest
 * are not even known to the library.
 */
function signatureAlgorithms(verifier: SignedXml): SignedXml["SignatureAlgorithms"] {
  return {
    ...libraryClasses(verifier.SignatureAlgorithms, [RSA_SHA256, RSA_SHA512]),
    [RSA_SHA384]: RSA_SHA384_ALGORITHM,
    ...ECDSA_ALGORITHMS,
  };
}

/**
 * The allowed digests only, SHA-384 ours (xml-crypto 6 has none): the library's SHA-1 is not
 * known to it either, whatever checkSignatureShape let through.
 */
function hashAlgorithms(verifier: SignedXml): SignedXml["HashAlgorithms"] {
  return {
    ...libraryClasses(verifier.HashAlgorithms, [SHA256, SHA512]),
    [SHA384]: SHA384_DIGEST,
  };
}

/** The library's classes for `uris`, those it has. */
function libraryClasses<T>(library: Record<string, T>, uris: readonly string[]) {
  return Object.fromEntries(
    uris.flatMap((uri) => {
      const implementation = library[uri];
      return implementation === undefined ? [] : [[uri, implementation] as const];
    }),
  );
}

/**
 * Maps xml-crypto's error messages to our codes. Its messages can quote the signature value, so
 * only the classification leaves this function, never the message.
 */
function classifyLibraryError(error: unknown): "wrong_key" | Refusal {
  const message = error instanceof Error ? error.message : "";
  if (message.startsWith("invalid signature: the signature value")) return "wrong_key";
  if (/multiple|same value for the ID|same SignatureValue|quotes/i.test(message)) {
    return reject("saml.signature_wrapping", "the signature library found a wrapped layout");
  }
  if (/algorithm .* is not supported/i.test(message)) {
    return reject(
      "saml.signature_algorithm",
      "the signature library does not support the algorithm",
    );
  }
  return reject("saml.signature_invalid", "the signature could not be verified");
}

function algorithmOf(parent: Element, localName: string): string | undefined {
  const methods = childrenNamed(parent, NS.dsig, localName);
  const [method] = methods;
  return method === undefined || methods.length > 1 ? undefined : attribute(method, "Algorithm");
}

/** Text with no comment or instruction inside; undefined when split or holding markup. */
function plainText(element: Element): string | undefined {
  let text = "";
  for (const node of Array.from(element.childNodes)) {
    if (isCommentOrInstruction(node) || node.nodeType === node.ELEMENT_NODE) return undefined;
    text += node.nodeValue ?? "";
  }
  return text;
}

/** An algorithm URI for a detail: at most 120 characters, anything but visible ASCII as `?`. */
function shorten(value: string | undefined): string {
  return value === undefined ? "(none)" : value.slice(0, 120).replace(/[^\x21-\x7e]/g, "?");
}
