import { X509Certificate } from "node:crypto";
import type { Element, Node } from "@xmldom/xmldom";
import type { ParsedSamlIdpMetadata, SamlRejection } from "../../app/federation/protocols.js";
import { toPem } from "./certificates.js";
import {
  attribute,
  childrenNamed,
  descendantElements,
  isElement,
  isNamed,
  simpleText,
} from "./dom.js";
import { parseHardenedXml, type XmlLimits } from "./harden.js";
import { accept, reject, type SamlResult } from "./rejection.js";
import { BINDING, NS } from "./saml-names.js";
import { timeAttribute } from "./saml-time.js";

/**
 * Reads one IdP's EntityDescriptor (SAML Metadata §2.3.2, §2.4.3): its entity id, the
 * HTTP-Redirect SingleSignOnService, the certificates it signs with and when it expires (the
 * earliest `validUntil` bounding its IDPSSODescriptor, which the caller checks against its clock).
 * Metadata is untrusted input from an administrator's upload and gets the same hardening as a
 * response.
 */
export function parseIdpMetadata(
  xml: string,
  limits: XmlLimits,
): SamlResult<ParsedSamlIdpMetadata> {
  try {
    const doc = parseHardenedXml(xml, limits);
    if (!doc.ok) return invalid(`not acceptable XML: ${doc.rejection.detail}`);
    const root = doc.value.documentElement;
    if (root === null || !isNamed(root, NS.metadata, "EntityDescriptor")) {
      return invalid("the root element is not an md:EntityDescriptor");
    }
    const entityId = attribute(root, "entityID");
    if (entityId === undefined || entityId === "" || entityId.length > 1024) {
      return invalid("the EntityDescriptor has no usable entityID");
    }
    const descriptors = childrenNamed(root, NS.metadata, "IDPSSODescriptor").filter((d) =>
      (attribute(d, "protocolSupportEnumeration") ?? "").split(/\s+/).includes(NS.protocol),
    );
    const [descriptor] = descriptors;
    if (descriptor === undefined || descriptors.length > 1) {
      return invalid("expected exactly one IDPSSODescriptor supporting SAML 2.0");
    }
    const ssoUrl = redirectSsoUrl(descriptor);
    if (!ssoUrl.ok) return ssoUrl;
    const certificates = signingCertificates(descriptor);
    if (!certificates.ok) return certificates;
    const expiry = validUntil(descriptor);
    if (!expiry.ok) return expiry;
    return accept({
      entityId,
      ssoUrl: ssoUrl.value,
      signingCertificates: certificates.value,
      ...(expiry.value === undefined ? {} : { validUntil: expiry.value }),
    });
  } catch {
    return invalid("the metadata could not be processed");
  }
}

/**
 * The earliest `validUntil` of the IdP `role` and every element enclosing it: each bounds how
 * long the role's keys and endpoints are vouched for (SAML Metadata §2.3.1, §2.3.2, §2.4.1). A
 * malformed one refuses the metadata: its expiry would be unknown. `cacheDuration` is only a
 * hint for how long to cache, and is not read.
 */
function validUntil(role: Element): SamlResult<string | undefined> {
  let earliest: Date | undefined;
  for (let node: Node | null = role; node !== null && isElement(node); node = node.parentNode) {
    const time = timeAttribute(node, "validUntil");
    // Date.parse rolls over impossible dates (2030-02-30 reads as March 2): refuse them too.
    if (
      !time.ok ||
      (time.value !== undefined &&
        time.value.toISOString().slice(0, 19) !== attribute(node, "validUntil")?.slice(0, 19))
    ) {
      return invalid(`the ${node.localName ?? "element"} has a malformed validUntil`);
    }
    if (time.value !== undefined && (earliest === undefined || time.value < earliest)) {
      earliest = time.value;
    }
  }
  return accept(earliest?.toISOString());
}

function redirectSsoUrl(descriptor: Element): SamlResult<string> {
  const service = childrenNamed(descriptor, NS.metadata, "SingleSignOnService").find(
    (s) => attribute(s, "Binding") === BINDING.httpRedirect,
  );
  const location = service === undefined ? undefined : attribute(service, "Location");
  if (location === undefined) {
    return invalid("no SingleSignOnService with the HTTP-Redirect binding");
  }
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return invalid("the HTTP-Redirect SingleSignOnService Location is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return invalid("the HTTP-Redirect SingleSignOnService Location is not an http(s) URL");
  }
  return accept(location);
}

/** KeyDescriptors with use="signing" or no use (§2.4.1.1: then the key serves both). */
function signingCertificates(descriptor: Element): SamlResult<string[]> {
  const certificates: string[] = [];
  for (const keyDescriptor of childrenNamed(descriptor, NS.metadata, "KeyDescriptor")) {
    const use = attribute(keyDescriptor, "use");
    if (use !== undefined && use !== "signing") continue;
    for (const element of descendantElements(keyDescriptor)) {
      if (!isNamed(element, NS.dsig, "X509Certificate")) continue;
      const text = simpleText(element);
      if (!text.ok) return invalid("an X509Certificate holds a comment or markup");
      const pem = toPem(text.value);
      try {
        new X509Certificate(pem);
      } catch {
        return invalid("a signing X509Certificate does not parse");
      }
      if (!certificates.includes(pem)) certificates.push(pem);
    }
  }
  if (certificates.length === 0) return invalid("no signing certificate in the IDPSSODescriptor");
  return accept(certificates);
}

function invalid(detail: string): { readonly ok: false; readonly rejection: SamlRejection } {
  return reject("saml.metadata_invalid", detail);
}
