import { DOMParser } from "@xmldom/xmldom";
import type { Document, Element } from "@xmldom/xmldom";
import { accept, reject, type SamlResult } from "./rejection.js";

/** Bounds applied to untrusted XML before any parser or signature library sees it. */
export interface XmlLimits {
  /** Largest document, in bytes of UTF-8. */
  readonly maxBytes: number;
  /** Deepest element nesting (checklist S21, CVE-2026-41673: recursion in every DOM walker). */
  readonly maxDepth: number;
}

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
const FORM_WHITESPACE = /[\r\n\t ]/g;

/**
 * Decodes the posted `SAMLResponse` strictly: only the base64 alphabet (line breaks tolerated,
 * as some IdPs wrap at 76 columns), canonical padding, then valid UTF-8. Oversized input is
 * refused before it is decoded, so a huge post costs one length comparison.
 */
export function decodeBase64Xml(encoded: string, maxBytes: number): SamlResult<string> {
  // Four base64 characters carry three bytes; allow the line breaks a wrapping IdP adds.
  const maxEncoded = Math.ceil(maxBytes / 3) * 4;
  if (encoded.length > maxEncoded * 2) {
    return reject("saml.too_large", `the encoded response exceeds ${maxBytes} bytes`);
  }
  const compact = encoded.replace(FORM_WHITESPACE, "");
  if (compact.length > maxEncoded) {
    return reject("saml.too_large", `the encoded response exceeds ${maxBytes} bytes`);
  }
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64_BODY.test(compact)) {
    return reject("saml.malformed", "the SAMLResponse value is not strict base64");
  }
  const bytes = Buffer.from(compact, "base64");
  // Node's decoder ignores stray bits in the last group; a canonical round trip refuses them.
  if (bytes.toString("base64") !== compact) {
    return reject("saml.malformed", "the SAMLResponse value is not canonical base64");
  }
  if (bytes.length > maxBytes) {
    return reject("saml.too_large", `the decoded response exceeds ${maxBytes} bytes`);
  }
  try {
    return accept(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return reject("saml.malformed", "the decoded response is not UTF-8");
  }
}

// Any markup declaration other than a comment or CDATA: DOCTYPE and the ENTITY/ELEMENT/ATTLIST
// declarations that only make sense inside one (XXE, billion laughs; checklist S20).
const MARKUP_DECLARATION = /<!\s*(?!--|\[CDATA\[)[A-Za-z]/;
const NUL = "\u0000";

/**
 * XML 1.0 §2.11: CR LF and a CR alone are read as one LF, and nothing else is a line end.
 * @xmldom/xmldom's default follows XML 1.1 §2.11, which also reads NEL (U+0085), the line
 * separator (U+2028) and the paragraph separator (U+2029) as LF: in an XML 1.0 document they are
 * characters of a value, and a NameID ending in one would lose it to the trimming of white space.
 */
function normalizeXml10LineEnds(xml: string): string {
  return xml.replace(/\r\n?/g, "\n");
}

/** The characters XML 1.1 reads as line ends besides CR (§2.11), written as themselves. */
const XML_11_LINE_END = /[\u0085\u2028\u2029]/;

/**
 * Refuses a posted document holding NEL, U+2028 or U+2029 as a character rather than a character
 * reference. xml-crypto parses it with its own @xmldom/xmldom, which cannot be told XML 1.0's
 * line ends and reads them as LF (its 0.8 U+0085 and U+2028, 0.9 U+2029 too): it verifies, and hands on as
 * signed, a text the IdP did not write (`alice@example.org` and a line feed, where the IdP wrote
 * and signed a line separator), or fails an IdP's honest signature over the character. A
 * reference (`&#x2028;`) is read as the character by every parser; the signed bytes, which carry
 * it as itself, are parsed here as XML 1.0 and keep it.
 */
export function refuseXml11LineEnds(xml: string): SamlResult<string> {
  return XML_11_LINE_END.test(xml)
    ? reject(
        "saml.malformed",
        "the document holds U+0085, U+2028 or U+2029 as a character, which the signature " +
          "library reads as a line end; write it as a character reference",
      )
    : accept(xml);
}

/**
 * Parses untrusted XML after refusing what no SAML message needs: DOCTYPE and entity
 * declarations, oversized or over-nested documents, NUL characters, and anything the parser
 * merely warns about. Read as XML 1.0 (line ends CR LF and CR only), which SAML is. Returns the
 * document with exactly one root element.
 */
export function parseHardenedXml(xml: string, limits: XmlLimits): SamlResult<Document> {
  if (Buffer.byteLength(xml, "utf8") > limits.maxBytes) {
    return reject("saml.too_large", `the document exceeds ${limits.maxBytes} bytes`);
  }
  if (MARKUP_DECLARATION.test(xml)) {
    return reject("saml.doctype_forbidden", "the document contains a DOCTYPE or declaration");
  }
  if (xml.includes(NUL)) {
    return reject("saml.malformed", "the document contains a NUL character");
  }
  if (exceedsDepth(xml, limits.maxDepth)) {
    return reject("saml.too_large", `elements nest deeper than ${limits.maxDepth}`);
  }
  const problems: string[] = [];
  let doc: Document;
  try {
    doc = new DOMParser({
      locator: false,
      normalizeLineEndings: normalizeXml10LineEnds,
      onError: (level) => {
        problems.push(level);
      },
    }).parseFromString(xml, "text/xml");
  } catch {
    return reject("saml.malformed", "the document is not well-formed XML");
  }
  if (problems.length > 0) {
    return reject("saml.malformed", `the XML parser reported ${problems.join(", ")}`);
  }
  const roots = rootElements(doc);
  if (roots.length !== 1) {
    // CVE-2022-39299 / 39353: a second root is where a wrapped copy hides.
    return reject("saml.malformed", `the document has ${roots.length} root elements`);
  }
  return accept(doc);
}

function rootElements(doc: Document): Element[] {
  const roots: Element[] = [];
  for (let node = doc.firstChild; node !== null; node = node.nextSibling) {
    if (node.nodeType === node.ELEMENT_NODE) roots.push(node as Element);
  }
  return roots;
}

/**
 * Counts element nesting with a linear scan over the text, so neither our DOM walkers nor the
 * libraries' recursive canonicalisers ever meet a document deeper than the limit.
 */
export function exceedsDepth(xml: string, maxDepth: number): boolean {
  let depth = 0;
  let at = xml.indexOf("<");
  while (at !== -1) {
    const next = xml.charAt(at + 1);
    let resume: number;
    if (next === "/") {
      depth -= 1;
      resume = at + 2;
    } else if (next === "?") {
      resume = skipPast(xml, "?>", at + 2);
    } else if (xml.startsWith("<!--", at)) {
      resume = skipPast(xml, "-->", at + 4);
    } else if (xml.startsWith("<![CDATA[", at)) {
      resume = skipPast(xml, "]]>", at + 9);
    } else {
      const end = endOfTag(xml, at + 1);
      // A self-closing element is as deep as an open one; it only leaves nothing open after it.
      if (depth + 1 > maxDepth) return true;
      if (xml.charAt(end - 1) !== "/") depth += 1;
      resume = end + 1;
    }
    at = xml.indexOf("<", resume);
  }
  return false;
}

function skipPast(xml: string, terminator: string, from: number): number {
  const end = xml.indexOf(terminator, from);
  return end === -1 ? xml.length : end + terminator.length;
}

/** The index of the `>` closing a start tag, skipping quoted attribute values. */
function endOfTag(xml: string, from: number): number {
  let quote = "";
  for (let i = from; i < xml.length; i += 1) {
    const c = xml.charAt(i);
    if (quote !== "") {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === ">") {
      return i;
    }
  }
  return xml.length;
}
