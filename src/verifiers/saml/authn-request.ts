import { deflateRawSync } from "node:zlib";
import type {
  SamlAuthnRequestOptions,
  SamlIdpSettings,
  SamlServiceProviderIdentity,
} from "../../app/federation/protocols.js";
import { BINDING, NAME_ID_FORMAT, NS } from "./saml-names.js";
import { escapeXml } from "./xml-escape.js";

// xs:ID is an NCName; the request id is ours, so a bad one is a bug, not input.
const NC_NAME = /^[A-Za-z_][\w.-]*$/;
// Bindings §3.4.3: RelayState is at most 80 bytes; it is our opaque flow id.
const MAX_RELAY_STATE_BYTES = 80;

/** The unsigned AuthnRequest (SAML Core §3.4.1) asking for exactly the given contexts (REFEDS R3). */
export function authnRequestXml(
  sp: SamlServiceProviderIdentity,
  idp: SamlIdpSettings,
  options: SamlAuthnRequestOptions,
): string {
  if (!NC_NAME.test(options.requestId)) {
    throw new TypeError("the AuthnRequest ID must be an xs:ID (NCName)");
  }
  const requested =
    options.authnContextClassRefs.length === 0
      ? ""
      : `<samlp:RequestedAuthnContext Comparison="exact">${options.authnContextClassRefs
          .map((ref) => `<saml:AuthnContextClassRef>${escapeXml(ref)}</saml:AuthnContextClassRef>`)
          .join("")}</samlp:RequestedAuthnContext>`;
  return (
    `<samlp:AuthnRequest xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}"` +
    ` ID="${options.requestId}" Version="2.0" IssueInstant="${options.issueInstant.toISOString()}"` +
    ` Destination="${escapeXml(idp.ssoUrl)}" AssertionConsumerServiceURL="${escapeXml(sp.acsUrl)}"` +
    ` ProtocolBinding="${BINDING.httpPost}"${options.forceAuthn ? ' ForceAuthn="true"' : ""}>` +
    `<saml:Issuer>${escapeXml(sp.entityId)}</saml:Issuer>` +
    nameIdPolicy(idp.nameIdFormat) +
    requested +
    `</samlp:AuthnRequest>`
  );
}

/**
 * SAML Core §3.4.1.1: the Format registered, if any; none leaves the IdP its configured one.
 * `AllowCreate="true"` lets the IdP establish a persistent identifier for this SP at the first
 * sign-in (the errata: requesters with no use for it SHOULD set it so); it is left out with a
 * transient Format, for which it MUST NOT be used.
 */
function nameIdPolicy(format: string | undefined): string {
  if (format === undefined) return `<samlp:NameIDPolicy AllowCreate="true"/>`;
  const allowCreate = format === `${NAME_ID_FORMAT}transient` ? "" : ' AllowCreate="true"';
  return `<samlp:NameIDPolicy Format="${escapeXml(format)}"${allowCreate}/>`;
}

/** HTTP-Redirect binding (Bindings §3.4.4.1): DEFLATE (raw), base64, URL-encoded, with RelayState. */
export function authnRequestUrl(
  sp: SamlServiceProviderIdentity,
  idp: SamlIdpSettings,
  options: SamlAuthnRequestOptions,
): string {
  if (Buffer.byteLength(options.relayState, "utf8") > MAX_RELAY_STATE_BYTES) {
    throw new TypeError("RelayState must not exceed 80 bytes (Bindings §3.4.3)");
  }
  const encoded = deflateRawSync(Buffer.from(authnRequestXml(sp, idp, options), "utf8")).toString(
    "base64",
  );
  const url = new URL(idp.ssoUrl);
  url.searchParams.append("SAMLRequest", encoded);
  if (options.relayState !== "") url.searchParams.append("RelayState", options.relayState);
  return url.toString();
}
