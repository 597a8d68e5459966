import type { KeyObject } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import type {
  SamlIdpSettings,
  SamlRejection,
  SamlServiceProviderIdentity,
  SamlVerificationOptions,
  VerifiedSamlAssertion,
} from "../../app/federation/protocols.js";
import {
  checkAddressing,
  checkEnvelope,
  checkErrorAnswers,
  readAssertion,
  type Expectations,
} from "./checks.js";
import { childrenNamed, isNamed } from "./dom.js";
import {
  decodeBase64Xml,
  parseHardenedXml,
  refuseXml11LineEnds,
  type XmlLimits,
} from "./harden.js";
import { checkRecordableValues } from "./recordable-values.js";
import { accept, reject, type SamlResult } from "./rejection.js";
import { NS } from "./saml-names.js";
import { checkSignatureShape, verifySignedReference } from "./signature.js";
import { checkStatus } from "./status.js";
import { findRoot, locateResponseParts } from "./structure.js";

/**
 * Verifies a posted SAMLResponse: hardening before parsing, status, layout, signatures with the
 * registered keys, then every check on the signed bytes only (checklist §1, §8 R3/R4), and last
 * whether the values handed on can be recorded as signed. One-time use of the assertion id is
 * the caller's: it receives `assertionId`, `issuer` and `expiresAt`.
 */
export function verifyResponse(
  sp: SamlServiceProviderIdentity,
  idp: SamlIdpSettings,
  options: SamlVerificationOptions,
  limits: XmlLimits,
  keysOf: (certificates: readonly string[]) => readonly KeyObject[],
): SamlResult<VerifiedSamlAssertion> {
  const nowMs = options.now.getTime();
  if (
    Number.isNaN(nowMs) ||
    !Number.isFinite(options.clockSkewSeconds) ||
    options.clockSkewSeconds < 0
  ) {
    throw new RangeError("verifyResponse needs a valid `now` and a non-negative clock skew");
  }
  // SAML Metadata §2.3.1, §2.3.2: past its `validUntil` the metadata no longer vouches for the
  // keys it names, so nothing they sign is relied on, not even an error status. No skew: that
  // allows for the IdP's clock, and this instant is judged on ours alone. Unreadable: past.
  const validUntil = idp.metadataValidUntil;
  if (validUntil !== undefined && !(nowMs < Date.parse(validUntil))) {
    return reject(
      "saml.metadata_expired",
      `the IdP metadata expired at ${validUntil} (its validUntil); register current metadata`,
    );
  }
  const expect: Expectations = {
    sp,
    idp,
    expectedRequestId: options.expectedRequestId,
    clock: { nowMs, skewMs: options.clockSkewSeconds * 1000 },
  };
  try {
    return verifyDecoded(options.samlResponse, expect, limits, keysOf);
  } catch {
    // Every expected failure is coded above; this is a library surprise, refused all the same.
    return reject("saml.malformed", "the response could not be processed");
  }
}

function verifyDecoded(
  samlResponse: string,
  expect: Expectations,
  limits: XmlLimits,
  keysOf: (certificates: readonly string[]) => readonly KeyObject[],
): SamlResult<VerifiedSamlAssertion> {
  const xml = decodeBase64Xml(samlResponse, limits.maxBytes);
  if (!xml.ok) return xml;
  const readable = refuseXml11LineEnds(xml.value);
  if (!readable.ok) return readable;
  const doc = parseHardenedXml(xml.value, limits);
  if (!doc.ok) return doc;
  const root = findRoot(doc.value);
  if (!root.ok) return root;
  // An error status ends the sign-in whoever signed it, so it is reported before signatures.
  const status = checkStatus(root.value);
  if (!status.ok) {
    return attributeStatus(status.rejection, xml.value, root.value, expect, limits, keysOf);
  }
  const parts = locateResponseParts(root.value);
  if (!parts.ok) return parts;
  const { response, responseSignature, assertion, assertionSignature } = parts.value;

  if (assertionSignature === undefined) {
    return reject(
      "saml.signature_missing",
      responseSignature === undefined
        ? "neither the response nor the assertion is signed"
        : "the assertion is not signed; this SP wants assertions signed",
    );
  }
  const assertionShape = checkSignatureShape(assertionSignature, assertion);
  if (!assertionShape.ok) return assertionShape;
  if (responseSignature !== undefined) {
    const responseShape = checkSignatureShape(responseSignature, response);
    if (!responseShape.ok) return responseShape;
  }

  const keys = keysOf(expect.idp.signingCertificates);
  let envelope: Element = response;
  if (responseSignature !== undefined) {
    const signedResponse = signedElement(xml.value, responseSignature, keys, response, limits);
    if (!signedResponse.ok) return signedResponse;
    envelope = signedResponse.value;
  }
  const signedAssertion = signedElement(xml.value, assertionSignature, keys, assertion, limits);
  if (!signedAssertion.ok) return signedAssertion;

  const inResponseTo = checkEnvelope(envelope, responseSignature !== undefined, expect);
  if (!inResponseTo.ok) return inResponseTo;
  const read = readAssertion(signedAssertion.value, inResponseTo.value, expect);
  return read.ok ? checkRecordableValues(read.value) : read;
}

/**
 * Says whether the IdP signed the error status that ends this sign-in (checklist S7: the Status of
 * an unsigned Response is unsigned, anyone's word). When the Response's one signature verifies
 * with the registered keys, the status and InResponseTo are read again from the signed bytes;
 * otherwise from the posted ones. Either way, an error addressed to another SP or naming another
 * Issuer (S12, S13), or answering another request than this sign-in's (S16), is refused as such.
 */
function attributeStatus(
  refusal: SamlRejection,
  xml: string,
  response: Element,
  expect: Expectations,
  limits: XmlLimits,
  keysOf: (certificates: readonly string[]) => readonly KeyObject[],
): SamlResult<never> {
  // A response without status codes is malformed, whoever signed it.
  if (refusal.statusCodes === undefined) return { ok: false, rejection: refusal };
  const signatures = childrenNamed(response, NS.dsig, "Signature");
  const [signature] = signatures;
  const signed =
    signatures.length === 1 &&
    signature !== undefined &&
    checkSignatureShape(signature, response).ok
      ? signedElement(xml, signature, keysOf(expect.idp.signingCertificates), response, limits)
      : undefined;
  const envelope = signed?.ok === true ? signed.value : response;
  const addressed = checkAddressing(envelope, signed?.ok === true, expect);
  if (!addressed.ok) return addressed;
  const answers = checkErrorAnswers(envelope, expect);
  if (!answers.ok) return answers;
  if (signed?.ok !== true) return reject(refusal.code, refusal.detail, refusal.statusCodes, false);
  const signedStatus = checkStatus(envelope);
  if (signedStatus.ok) {
    return reject(
      "saml.signature_wrapping",
      "the signed response says Success, the posted one not",
    );
  }
  const { code, detail, statusCodes } = signedStatus.rejection;
  return reject(code, detail, statusCodes, true);
}

/**
 * Verifies `signature` and re-parses the canonical bytes it covers. What is read afterwards comes
 * from this new document, never from the posted one (checklist S1; CVE-2025-54419).
 */
function signedElement(
  xml: string,
  signature: Element,
  keys: readonly KeyObject[],
  expected: Element,
  limits: XmlLimits,
): SamlResult<Element> {
  const signedXml = verifySignedReference(xml, signature, keys);
  if (!signedXml.ok) return signedXml;
  const doc = parseHardenedXml(signedXml.value, limits);
  if (!doc.ok) return doc;
  const element = doc.value.documentElement;
  if (
    element === null ||
    !isNamed(element, expected.namespaceURI ?? "", expected.localName ?? "") ||
    element.getAttribute("ID") !== expected.getAttribute("ID") ||
    (expected.namespaceURI !== NS.protocol && expected.namespaceURI !== NS.assertion)
  ) {
    return reject("saml.signature_wrapping", "the signed bytes are not the element being consumed");
  }
  return accept(element);
}
