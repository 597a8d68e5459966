import type { Element, Node } from "@xmldom/xmldom";
import { accept, reject, type SamlResult } from "./rejection.js";

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;

export function isElement(node: Node): node is Element {
  return node.nodeType === ELEMENT_NODE;
}

export function isNamed(element: Element, namespace: string, localName: string): boolean {
  return element.namespaceURI === namespace && element.localName === localName;
}

export function childElements(parent: Node): Element[] {
  const children: Element[] = [];
  for (let node = parent.firstChild; node !== null; node = node.nextSibling) {
    if (isElement(node)) children.push(node);
  }
  return children;
}

export function childrenNamed(parent: Node, namespace: string, localName: string): Element[] {
  return childElements(parent).filter((child) => isNamed(child, namespace, localName));
}

/** Every element below `root`, in document order, without recursion (depth is capped anyway). */
export function descendantElements(root: Node): Element[] {
  const found: Element[] = [];
  const stack: Node[] = [...childElements(root)].reverse();
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (isElement(node)) {
      found.push(node);
      stack.push(...childElements(node).reverse());
    }
  }
  return found;
}

export function isCommentOrInstruction(node: Node): boolean {
  return node.nodeType === COMMENT_NODE || node.nodeType === PROCESSING_INSTRUCTION_NODE;
}

const XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace";

/**
 * Whether `xml:space="preserve"` is in effect at `element` (XML 1.0 §2.10): said on it or on its
 * nearest ancestor saying either `preserve` or `default`. Only the ancestors in `element`'s own
 * document count: read from signed bytes, that is the signed element and what it holds.
 */
export function spacePreserved(element: Element): boolean {
  for (let node: Node | null = element; node !== null; node = node.parentNode) {
    if (!isElement(node) || !node.hasAttributeNS(XML_NAMESPACE, "space")) continue;
    return node.getAttributeNS(XML_NAMESPACE, "space") === "preserve";
  }
  return false;
}

/** An attribute's value, or undefined when absent (xmldom returns null or ""). */
export function attribute(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? (element.getAttribute(name) ?? "") : undefined;
}

/**
 * The text of a simple-content element. A comment or processing instruction inside it is
 * refused rather than skipped: that is how `admin@victim.com<!---->.evil.com` reads as two
 * different names to the signer and to a naive reader (checklist S4).
 */
export function simpleText(element: Element): SamlResult<string> {
  let text = "";
  for (let node = element.firstChild; node !== null; node = node.nextSibling) {
    if (node.nodeType === TEXT_NODE || node.nodeType === CDATA_SECTION_NODE) {
      text += node.nodeValue ?? "";
    } else if (isCommentOrInstruction(node)) {
      return reject(
        "saml.comment_in_value",
        `a comment or instruction splits <${element.localName}>`,
      );
    } else {
      return reject("saml.malformed", `<${element.localName}> holds markup where text belongs`);
    }
  }
  return accept(text);
}
