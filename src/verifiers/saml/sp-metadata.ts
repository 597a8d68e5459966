import type {
  SamlIdpSettings,
  SamlServiceProviderIdentity,
} from "../../app/federation/protocols.js";
import { BINDING, NS } from "./saml-names.js";
import { escapeXml } from "./xml-escape.js";

/**
 * The SP metadata for one IdP registration: unsigned AuthnRequests, assertions wanted signed, the
 * NameID Format the registration asks for if any, one HTTP-POST Assertion Consumer Service (SAML
 * Metadata §2.4.4).
 */
export function spMetadata(sp: SamlServiceProviderIdentity, idp: SamlIdpSettings): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="${NS.metadata}" entityID="${escapeXml(sp.entityId)}">`,
    `<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="${NS.protocol}">`,
    // Metadata §2.4.2: NameIDFormat comes before the AssertionConsumerService (SSODescriptorType).
    ...(idp.nameIdFormat === undefined
      ? []
      : [`<md:NameIDFormat>${escapeXml(idp.nameIdFormat)}</md:NameIDFormat>`]),
    `<md:AssertionConsumerService Binding="${BINDING.httpPost}" Location="${escapeXml(sp.acsUrl)}" index="0" isDefault="true"/>`,
    "</md:SPSSODescriptor>",
    "</md:EntityDescriptor>",
  ].join("\n");
}
