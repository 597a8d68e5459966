import type { IncomingMessage, ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import {
  loadOidcProvider,
  type InteractionResult,
  type Provider,
  type ProviderConstructor,
} from "../../../demo/oidc-provider-slice.js";
import type { OidcIdpSettings } from "../../../app/federation/protocols.js";
import { listenOnLoopback } from "./loopback-server.js";

export const REFEDS_MFA = "https://refeds.org/profile/mfa";
export const PASSWORD_PROTECTED =
  "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

/** How the next user at the peer's login page authenticates, or how the IdP refuses. */
export type PeerSignIn =
  | {
      readonly accountId: string;
      readonly acr?: string;
      readonly amr?: readonly string[];
      /** `auth_time`, epoch seconds; default: now. */
      readonly authTime?: number;
    }
  | { readonly error: string };

export interface OidcProviderPeer {
  readonly issuer: string;
  readonly redirectUri: string;
  /** The registration a tenant administrator would make for this IdP. */
  readonly idp: OidcIdpSettings;
  /** Decides the outcome of the next interactive login. */
  nextSignIn: PeerSignIn;
  /** How many times the JWKS endpoint was read. */
  readonly jwksRequests: number;
  readonly signingKid: string;
  /** Starts signing with a fresh key; the old one leaves the published JWKS. */
  rotateSigningKey(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real `oidc-provider` 9 on loopback, with one confidential client and a login page that is
 * completed by code: whatever `nextSignIn` says is what the user "did" at the IdP. An `acr` the
 * OP itself holds essential (its `essential_acrs` check), which the sign-in cannot meet, is
 * answered as a real IdP would (OIDC Core §5.5.1.1), with `unmet_authentication_requirements`;
 * an `acr` asked for voluntarily gets whatever the sign-in achieved.
 */
export async function startOidcProviderPeer(
  options: {
    /**
     * The one redirect URI the client may use; by default the callback of tenant `acme`, IdP
     * `corp`, under `${issuer}/rp` (for servers tested without listening).
     */
    redirectUri?: (issuer: string) => string;
    /**
     * oidc-provider's `claims` parameter feature, announced as `claims_parameter_supported`.
     * Default on; off, the peer is an IdP that can be asked for an `acr` only by `acr_values`.
     */
    claimsParameter?: boolean;
  } = {},
): Promise<OidcProviderPeer> {
  const OidcProvider = await loadOidcProvider();
  let provider: Provider | undefined;
  let jwksRequests = 0;
  const state = { nextSignIn: { accountId: "alice" } as PeerSignIn, signingKid: "" };

  const server = await listenOnLoopback((req, res) => {
    if (provider === undefined) {
      res.statusCode = 503;
      res.end();
      return;
    }
    if (req.url?.startsWith("/jwks") === true) jwksRequests += 1;
    if (req.url?.startsWith("/interaction/") === true) {
      void interact(provider, state.nextSignIn, req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    provider.callback()(req, res);
  });

  const issuer = server.origin;
  const redirectUri =
    options.redirectUri?.(issuer) ?? `${issuer}/rp/t/acme/idps/corp/oidc/callback`;
  const client = { clientId: "tenant-mfa-acme", clientSecret: "s3cret:with/odd+chars" };

  async function configure(): Promise<void> {
    const kid = `peer-${Math.random().toString(36).slice(2, 10)}`;
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
    provider = createProvider(OidcProvider, issuer, redirectUri, client, jwk, {
      claimsParameter: options.claimsParameter ?? true,
    });
    state.signingKid = kid;
  }
  await configure();

  return {
    issuer,
    redirectUri,
    idp: {
      issuer,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      scopes: ["openid", "profile"],
      idTokenAlgorithms: ["RS256"],
      subjectClaim: "sub",
    },
    get nextSignIn() {
      return state.nextSignIn;
    },
    set nextSignIn(value: PeerSignIn) {
      state.nextSignIn = value;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    get signingKid() {
      return state.signingKid;
    },
    rotateSigningKey: configure,
    close: () => server.close(),
  };
}

function createProvider(
  OidcProvider: ProviderConstructor,
  issuer: string,
  redirectUri: string,
  client: { clientId: string; clientSecret: string },
  signingKey: JWK,
  features: { claimsParameter: boolean },
): Provider {
  return new OidcProvider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "RS256",
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ["peer-cookie-signing-key"] },
    acrValues: [REFEDS_MFA, PASSWORD_PROTECTED],
    // acr and amr ride with the openid scope, as at most IdPs; auth_time only when asked for.
    claims: { openid: ["sub", "acr", "amr"], auth_time: null, sid: null, iss: null },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: features.claimsParameter },
    },
    pkce: { required: () => true },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub }),
    }),
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
  });
}

/** The IdP's login and consent pages, completed by code. */
async function interact(
  provider: Provider,
  signIn: PeerSignIn,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  let result: InteractionResult;
  if (details.prompt.name === "login") {
    const acrRequest = essentialAcrRequest(details.prompt);
    if ("error" in signIn) {
      result = { error: signIn.error, error_description: "the user cancelled" };
    } else if (
      acrRequest !== undefined &&
      (signIn.acr === undefined || !acrRequest.includes(signIn.acr))
    ) {
      result = {
        error: "unmet_authentication_requirements",
        error_description: "none of the requested ACRs could be obtained",
      };
    } else {
      result = {
        login: {
          accountId: signIn.accountId,
          ...(signIn.acr === undefined ? {} : { acr: signIn.acr }),
          ...(signIn.amr === undefined ? {} : { amr: signIn.amr }),
          ts: signIn.authTime ?? Math.floor(Date.now() / 1000),
          remember: false,
        },
      };
    }
  } else {
    const grant = new provider.Grant({
      accountId: String(details.session?.accountId),
      clientId: String(details.params.client_id),
    });
    grant.addOIDCScope(String(details.params.scope));
    const missingClaims = details.prompt.details.missingOIDCClaims;
    if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims as string[]);
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

/**
 * The `acr` values oidc-provider itself holds essential for this login, or undefined when it
 * holds none: its `essential_acrs` / `essential_acr` checks are what put `acr` in the login
 * prompt's details. Read from the OP, not from the raw `claims` parameter, so that the peer
 * fails the sign-in exactly when the OP would insist: oidc-provider lets `acr_values` replace
 * the `claims` parameter's `acr` request with a voluntary one (its `assignClaims`), and then an
 * IdP on it answers with whatever `acr` the user achieved.
 */
function essentialAcrRequest(prompt: {
  readonly reasons: readonly string[];
  readonly details: Readonly<Record<string, unknown>>;
}): readonly string[] | undefined {
  if (!prompt.reasons.includes("essential_acrs") && !prompt.reasons.includes("essential_acr")) {
    return undefined;
  }
  const acr = prompt.details.acr as { values?: unknown; value?: unknown } | undefined;
  if (Array.isArray(acr?.values)) return acr.values as string[];
  return typeof acr?.value === "string" ? [acr.value] : undefined;
}
