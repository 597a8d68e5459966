import type { SecretSealer } from "../ports.js";
import type { OidcProtocol, SamlProtocol, SamlServiceProviderIdentity } from "./protocols.js";

/** What the federation use cases need beyond the common context. */
export interface FederationParts {
  readonly secrets: SecretSealer;
  readonly saml: SamlProtocol;
  readonly oidc: OidcProtocol;
  /**
   * The server's public base URL (`https://mfa.example.com`): SP entity ids, ACS URLs and OIDC
   * redirect URIs derive from it, so it must be what browsers and IdPs see.
   */
  readonly publicUrl: string;
  /** How long a sign-in sent to an IdP may take before its answer is refused; 10 min by default. */
  readonly requestTtlSeconds?: number;
}

/** The URLs of one IdP registration, derived from the public URL. */
export function idpEndpoints(publicUrl: string, tenant: string, idp: string) {
  const base = `${publicUrl.replace(/\/+$/, "")}/t/${encodeURIComponent(tenant)}/idps/${encodeURIComponent(idp)}`;
  return {
    start: `${base}/start`,
    samlMetadata: `${base}/saml/metadata`,
    samlAcs: `${base}/saml/acs`,
    /** Where the ACS sends the browser to claim a direct sign-in's held answer. */
    samlCompletion: `${base}/saml/complete`,
    oidcRedirectUri: `${base}/oidc/callback`,
  };
}

/** The SP identity for one IdP: the metadata URL is the entity id, unique per tenant and IdP. */
export function serviceProvider(
  publicUrl: string,
  tenant: string,
  idp: string,
): SamlServiceProviderIdentity {
  const endpoints = idpEndpoints(publicUrl, tenant, idp);
  return { entityId: endpoints.samlMetadata, acsUrl: endpoints.samlAcs };
}

/** The context in which a client secret is sealed: it opens for this IdP only. */
export const clientSecretContext = (tenant: string, idp: string): string =>
  `idp:${tenant}:${idp}:client_secret`;

/** The context in which a PKCE verifier is sealed: it opens for this request only. */
export const codeVerifierContext = (request: string): string =>
  `federation_request:${request}:code_verifier`;
