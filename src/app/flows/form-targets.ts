import type { OidcProtocol } from "../federation/protocols.js";
import type { IdpRecord } from "../records.js";

/** Where an OIDC sign-in sends the browser: read from the IdP's discovery. */
export type AuthorizationEndpoints = Pick<OidcProtocol, "authorizationEndpoint">;

/**
 * The origins a flow page's forms may lead to, for its CSP `form-action`, which Chrome applies to
 * the redirects that follow a post too: the platform's return URL; each of the tenant's IdPs as
 * registered (a SAML IdP's SSO URL, an OIDC IdP's issuer); and, for each OIDC IdP the page
 * offers a sign-in at (`offered`, by id), the authorization endpoint its discovery names, where
 * the `idp` form's 303 goes, which may be on another origin than the issuer (Amazon Cognito's
 * is). Discovery is read only for the IdPs offered, so a page offering none waits for no IdP,
 * and a page waits briefly at most (the protocol's {@link OidcProtocol.authorizationEndpoint}); a
 * discovery not read adds nothing (the sign-in itself reads it, and the pages after it then
 * name the endpoint) and the page still renders. Anything that is not a URL is left out.
 */
export async function formTargets(
  returnTo: string,
  idps: readonly IdpRecord[],
  offered: ReadonlySet<string>,
  endpoints: AuthorizationEndpoints | undefined,
): Promise<readonly string[]> {
  const discovered = await Promise.all(
    idps.map(async (idp) =>
      idp.protocol === "oidc" && offered.has(idp.id) && endpoints !== undefined
        ? discoveredEndpoint(endpoints, idp.oidc.issuer)
        : undefined,
    ),
  );
  const urls = [
    returnTo,
    ...idps.map((idp) => (idp.protocol === "saml" ? idp.saml.ssoUrl : idp.oidc.issuer)),
    ...discovered,
  ];
  const origins = new Set<string>();
  for (const url of urls) {
    if (url === undefined) continue;
    try {
      origins.add(new URL(url).origin);
    } catch {
      // No usable URL, no form target.
    }
  }
  return [...origins];
}

async function discoveredEndpoint(
  endpoints: AuthorizationEndpoints,
  issuer: string,
): Promise<string | undefined> {
  try {
    return await endpoints.authorizationEndpoint(issuer);
  } catch {
    // A page is never refused for its IdP's discovery: fail safe, with the issuer named as before.
    return undefined;
  }
}
