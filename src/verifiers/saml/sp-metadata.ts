import type { SamlServiceProviderIdentity } from "../../app/federation/protocols.js";
import { BINDING, NS } from "./saml-names.js";
import { escapeXml } from "./xml-escape.js";

/**
 * The SP metadata for one IdP registration: unsigned AuthnRequests, assertions wanted signed, one
 * HTTP-POST Assertion Consumer Service (SAML Metadata §2.4.4).
 */
export function spMetadata(sp: SamlServiceProviderIdentity): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="${NS.metadata}" entityID="${escapeXml(sp.entityId)}">`,
    `<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="${NS.protocol}">`,
    `<md:AssertionConsumerService Binding="${BINDING.httpPost}" Location="${escapeXml(sp.acsUrl)}" index="0" isDefault="true"/>`,
    "</md:SPSSODescriptor>",
    "</md:EntityDescriptor>",
  ].join("\n");
}
