import type { Document, Element, Node } from "@xmldom/xmldom";
import {
  childrenNamed,
  descendantElements,
  isCommentOrInstruction,
  isElement,
  isNamed,
} from "./dom.js";
import { accept, reject, type SamlResult } from "./rejection.js";
import { NS } from "./saml-names.js";

/** The one shape of Response this service provider consumes, located in the raw document. */
export interface ResponseParts {
  readonly response: Element;
  readonly responseSignature: Element | undefined;
  readonly assertion: Element;
  readonly assertionSignature: Element | undefined;
}

// xml-crypto resolves a Reference against any of these attribute names, in any namespace.
const ID_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(["ID", "Id", "id"]);

// Elements whose text we read. Canonicalisation drops comments, so a comment splitting one of
// these still verifies; refuse it before any signature is consulted (checklist S4).
const VALUE_ELEMENTS: ReadonlySet<string> = new Set([
  "Issuer",
  "NameID",
  "Audience",
  "AuthnContextClassRef",
  "AuthnContextDeclRef",
  "AttributeValue",
]);

export function findRoot(doc: Document): SamlResult<Element> {
  const root = doc.documentElement;
  if (root === null || !isNamed(root, NS.protocol, "Response")) {
    return reject("saml.malformed", "the root element is not a samlp:Response");
  }
  if (root.getAttribute("Version") !== "2.0") {
    return reject("saml.malformed", "the response is not SAML version 2.0");
  }
  return accept(root);
}

/**
 * Refuses every layout in which a signature could cover one node while another is consumed
 * (checklist S2, S3, S7, S8): a Response or Assertion anywhere but its one place, a Signature
 * that is not the enveloped child of the Response or Assertion, `ds:Object`, duplicate IDs,
 * encrypted or extra assertions.
 */
export function locateResponseParts(response: Element): SamlResult<ResponseParts> {
  const ids = new Set<string>();
  let encrypted = false;
  for (const element of descendantElements(response)) {
    const parent = element.parentNode;
    for (const attr of Array.from(element.attributes)) {
      const name = attr.localName ?? attr.name;
      if (!ID_ATTRIBUTE_NAMES.has(name)) continue;
      if (ids.has(attr.value) || attr.value === response.getAttribute("ID")) {
        return reject("saml.signature_wrapping", "two elements carry the same ID");
      }
      ids.add(attr.value);
    }
    if (isNamed(element, NS.protocol, "Response")) {
      return reject("saml.signature_wrapping", "a Response is nested inside the response");
    }
    if (isNamed(element, NS.assertion, "Assertion") && parent !== response) {
      return reject("saml.signature_wrapping", "an Assertion sits outside its place");
    }
    if (isNamed(element, NS.dsig, "Object")) {
      return reject("saml.signature_wrapping", "a signature carries a ds:Object");
    }
    if (isNamed(element, NS.dsig, "Signature") && !isSignatureSlot(parent, response)) {
      return reject("saml.signature_wrapping", "a Signature sits outside its place");
    }
    if (isNamed(element, NS.assertion, "EncryptedAssertion")) encrypted = true;
    if (element.namespaceURI === NS.assertion && VALUE_ELEMENTS.has(element.localName ?? "")) {
      for (const child of Array.from(element.childNodes)) {
        if (isCommentOrInstruction(child)) {
          return reject(
            "saml.comment_in_value",
            `a comment or instruction splits <${element.localName ?? ""}>`,
          );
        }
      }
    }
  }
  if (encrypted) {
    return reject(
      "saml.encrypted_assertion_unsupported",
      "the response holds an EncryptedAssertion",
    );
  }
  const assertions = childrenNamed(response, NS.assertion, "Assertion");
  const [assertion] = assertions;
  if (assertion === undefined || assertions.length !== 1) {
    return reject("saml.assertion_count", `the response holds ${assertions.length} assertions`);
  }
  const responseSignatures = childrenNamed(response, NS.dsig, "Signature");
  const assertionSignatures = childrenNamed(assertion, NS.dsig, "Signature");
  if (responseSignatures.length > 1 || assertionSignatures.length > 1) {
    return reject("saml.signature_wrapping", "an element carries more than one Signature");
  }
  return accept({
    response,
    responseSignature: responseSignatures[0],
    assertion,
    assertionSignature: assertionSignatures[0],
  });
}

function isSignatureSlot(parent: Node | null, response: Element): boolean {
  if (parent === response) return true;
  return (
    parent !== null &&
    isElement(parent) &&
    isNamed(parent, NS.assertion, "Assertion") &&
    parent.parentNode === response
  );
}
