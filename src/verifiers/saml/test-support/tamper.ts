import { DOMParser, XMLSerializer } from "@xmldom/xmldom";
import type { Document, Element } from "@xmldom/xmldom";

/**
 * DOM edits on a real IdP response, the way an attacker holding one valid response would make
 * them: the XSW recipes follow SAML Raider's XSWHelpers (checklist S2), the rest one each.
 */
const PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG = "http://www.w3.org/2000/09/xmldsig#";
export const ATTACKER = "attacker@evil.example";

export function decode(samlResponse: string): string {
  return Buffer.from(samlResponse, "base64").toString("utf8");
}

export function encode(xml: string): string {
  return Buffer.from(xml, "utf8").toString("base64");
}

/** Parses the base64 response, lets `edit` change the DOM, and re-encodes it. */
export function tamper(samlResponse: string, edit: (doc: Document) => void): string {
  const doc = new DOMParser().parseFromString(decode(samlResponse), "text/xml");
  edit(doc);
  return encode(new XMLSerializer().serializeToString(doc));
}

export function responseOf(doc: Document): Element {
  const root = doc.documentElement;
  if (root === null) throw new Error("no root");
  return root;
}

export function assertionOf(doc: Document): Element {
  return first(doc, ASSERTION, "Assertion");
}

export function first(scope: Document | Element, ns: string, localName: string): Element {
  const found = scope.getElementsByTagNameNS(ns, localName)[0];
  if (found === undefined) throw new Error(`no ${localName}`);
  return found;
}

/**
 * The answer turned into Responder / NoAuthnContext ("MFA was not possible"), its assertion
 * removed: unsigned, as anyone holding a sign-in's AuthnRequest (its ID and RelayState) can write.
 */
export function noAuthnContext(samlResponse: string): string {
  return tamper(samlResponse, (doc) => {
    const response = responseOf(doc);
    response.removeChild(assertionOf(doc));
    const code = first(response, PROTOCOL, "StatusCode");
    code.setAttribute("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder");
    const nested = doc.createElementNS(PROTOCOL, "samlp:StatusCode");
    nested.setAttribute("Value", "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext");
    code.appendChild(nested);
  });
}

/** The Signature that is a direct child of `parent`. */
export function signatureOf(parent: Element): Element {
  const signature = Array.from(parent.childNodes).find(
    (n): n is Element => n.nodeType === n.ELEMENT_NODE && (n as Element).localName === "Signature",
  );
  if (signature === undefined) throw new Error("no Signature");
  return signature;
}

/** The attacker's edit: claim to be someone else. */
export function impersonate(scope: Element): void {
  const nameId = first(scope, ASSERTION, "NameID");
  nameId.textContent = ATTACKER;
}

function clone(element: Element): Element {
  return element.cloneNode(true) as Element;
}

function removeSignature(element: Element): void {
  element.removeChild(signatureOf(element));
}

/** XSW1: evil Response; unsigned clone of the original inside the Signature. */
export function xsw1(doc: Document): void {
  const response = responseOf(doc);
  const original = clone(response);
  removeSignature(original);
  impersonate(response);
  signatureOf(response).appendChild(original);
  response.setAttribute("ID", "_evil_response_ID");
}

/** XSW2: as XSW1, the clone placed before the Signature. */
export function xsw2(doc: Document): void {
  const response = responseOf(doc);
  const original = clone(response);
  removeSignature(original);
  impersonate(response);
  const signature = signatureOf(response);
  response.insertBefore(original, signature);
  response.setAttribute("ID", "_evil_response_ID");
}

/** XSW3: unsigned evil Assertion before the signed one. */
export function xsw3(doc: Document): void {
  const assertion = assertionOf(doc);
  const evil = clone(assertion);
  impersonate(evil);
  removeSignature(evil);
  evil.setAttribute("ID", "_evil_assertion_ID");
  responseOf(doc).insertBefore(evil, assertion);
}

/** XSW4: evil Assertion wraps the signed one. */
export function xsw4(doc: Document): void {
  const assertion = assertionOf(doc);
  const evil = clone(assertion);
  impersonate(evil);
  removeSignature(evil);
  evil.setAttribute("ID", "_evil_assertion_ID");
  responseOf(doc).appendChild(evil);
  evil.appendChild(assertion);
}

/** XSW5: the signed Assertion edited in place (new ID); an unsigned original copy appended. */
export function xsw5(doc: Document): void {
  const evil = assertionOf(doc);
  const original = clone(evil);
  impersonate(evil);
  removeSignature(original);
  responseOf(doc).appendChild(original);
  evil.setAttribute("ID", "_evil_assertion_ID");
}

/** XSW6: as XSW5, the original copy placed inside the Signature. */
export function xsw6(doc: Document): void {
  const evil = assertionOf(doc);
  const signature = signatureOf(evil);
  const original = clone(evil);
  impersonate(evil);
  removeSignature(original);
  signature.appendChild(original);
  evil.setAttribute("ID", "_evil_assertion_ID");
}

/** XSW7: an evil copy inside an Extensions element. */
export function xsw7(doc: Document): void {
  const assertion = assertionOf(doc);
  const extensions = doc.createElementNS(PROTOCOL, "samlp:Extensions");
  responseOf(doc).insertBefore(extensions, assertion);
  const evil = clone(assertion);
  impersonate(evil);
  removeSignature(evil);
  extensions.appendChild(evil);
}

/** XSW8: the signed Assertion edited in place; the original copy inside a ds:Object. */
export function xsw8(doc: Document): void {
  const evil = assertionOf(doc);
  const signature = signatureOf(evil);
  const original = clone(evil);
  impersonate(evil);
  removeSignature(original);
  const object = doc.createElementNS(DSIG, "ds:Object");
  signature.appendChild(object);
  object.appendChild(original);
}

/**
 * XSW10: the Assertion's signature cloned into the Response with the original Assertion in a
 * ds:Object; the consumed Assertion edited, renamed and unsigned.
 */
export function xsw10(doc: Document): void {
  const response = responseOf(doc);
  const assertion = assertionOf(doc);
  const signature = clone(signatureOf(assertion));
  const object = doc.createElementNS(DSIG, "ds:Object");
  object.appendChild(clone(assertion));
  signature.appendChild(object);
  const issuer = first(response, ASSERTION, "Issuer");
  response.insertBefore(signature, issuer.nextSibling);
  assertion.setAttribute("ID", `${assertion.getAttribute("ID") ?? ""}ffff`);
  removeSignature(assertion);
  impersonate(assertion);
}

export const XSW_VARIANTS = { xsw1, xsw2, xsw3, xsw4, xsw5, xsw6, xsw7, xsw8, xsw10 } as const;

/**
 * The code each variant is refused with. XSW3 and XSW5 leave two sibling Assertions: the
 * one-assertion rule (checklist S8) stops them before any signature is read.
 */
export const XSW_REJECTIONS: Readonly<Record<keyof typeof XSW_VARIANTS, string>> = {
  xsw1: "saml.signature_wrapping",
  xsw2: "saml.signature_wrapping",
  xsw3: "saml.assertion_count",
  xsw4: "saml.signature_wrapping",
  xsw5: "saml.assertion_count",
  xsw6: "saml.signature_wrapping",
  xsw7: "saml.signature_wrapping",
  xsw8: "saml.signature_wrapping",
  xsw10: "saml.signature_wrapping",
};

export { ASSERTION, DSIG, PROTOCOL };
