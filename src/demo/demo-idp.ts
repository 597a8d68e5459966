/**
 * The development OpenID Connect IdP bundled with `serve --demo`: a real `oidc-provider` 9 on
 * loopback that plays Initech's corporate IdP, so that the "MFA at the organisation's IdP" path
 * can be clicked through without any account anywhere. Its login page checks nothing (any
 * password works) and lets the person choose what the ID token will claim: MFA
 * (`amr: ["pwd","otp","mfa"]`, `acr` REFEDS MFA) or a password only (`amr: ["pwd"]`, no `acr`).
 * tenant-mfa must then verify that claim itself, which is what the demo shows.
 *
 * Everything else is oidc-provider's: discovery, PKCE (required), the code exchange with
 * client_secret_basic, `prompt=login` and `max_age`, `auth_time`. Keys (ES256) and cookie keys
 * are generated at start and live in memory only.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import { REFEDS_MFA } from "../core/vocabulary.js";
import {
  contentSecurityPolicy,
  escapeHtml,
  renderPage,
  STYLESHEET,
  STYLESHEET_PATH,
} from "./html.js";
import { closeNow, listen } from "./listen.js";
import { memoryAdapter } from "./memory-adapter.js";
import { readForm } from "./read-form.js";
import {
  loadOidcProviderModule,
  type InteractionPolicy,
  type InteractionResult,
  type Provider,
} from "./oidc-provider-slice.js";

/** What a sign-in at the demo IdP says about how the person authenticated (RFC 8176 `amr`). */
export const DEMO_IDP_SIGN_INS = {
  mfa: { acr: REFEDS_MFA, amr: ["pwd", "otp", "mfa"] },
  /** A hardware-bound key (`hwk`): MFA that tenant-mfa's default mapping holds phishing-resistant. */
  key: { acr: REFEDS_MFA, amr: ["pwd", "hwk", "mfa"] },
  pwd: { amr: ["pwd"] },
} as const;

/** The one confidential client: tenant-mfa, for one tenant's IdP registration. */
export interface DemoIdpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** tenant-mfa's OIDC callback for that registration. */
  readonly redirectUris: readonly string[];
}

/** Options of {@link startDemoIdp}. */
export interface DemoIdpOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default `http://localhost:PORT`: browsers reach loopback by that name. */
  readonly issuer?: string;
  readonly client: DemoIdpClient;
  /** Prefilled on the login page. Default `carol`. */
  readonly defaultUser?: string;
  /** The organisation shown on the login page. Default `Initech`. */
  readonly organisation?: string;
  /** Read for `auth_time`. Default: the wall clock. */
  readonly now?: () => Date;
  /**
   * Origins the sign-in goes on to after the client's redirect URI: the login form's
   * `form-action` must list them, since Chrome checks every redirect that follows a form post,
   * and the client (tenant-mfa) sends the browser on to the application it signs in to.
   */
  readonly continuesTo?: readonly string[];
}

/** A running demo IdP. */
export interface DemoIdp {
  readonly issuer: string;
  close(): Promise<void>;
}

const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** Starts the demo IdP; throws `DemoDependencyMissing` without the dev dependencies. */
export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const { Provider, interactionPolicy } = await loadOidcProviderModule();
  const now = options.now ?? (() => new Date());
  const page = {
    organisation: options.organisation ?? "Initech",
    defaultUser: options.defaultUser ?? "carol",
    formTargets: [
      ...new Set(
        [...options.client.redirectUris, ...(options.continuesTo ?? [])].map(
          (uri) => new URL(uri).origin,
        ),
      ),
    ],
  };
  let provider: Provider | undefined;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader("content-type", "text/plain; charset=utf-8");
      }
      res.end(`The demo IdP failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://demo-idp").pathname;
    if (provider === undefined) {
      res.statusCode = 503;
      res.end();
      return;
    }
    if (req.method === "GET" && path === STYLESHEET_PATH) {
      res.setHeader("content-type", "text/css; charset=utf-8");
      res.end(STYLESHEET);
      return;
    }
    const interaction = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/.exec(path);
    if (interaction === null) {
      provider.callback()(req, res);
      return;
    }
    await interact(provider, interaction[2], req, res);
  }

  async function interact(
    provider: Provider,
    step: string | undefined,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name !== "login") {
      // Consent: the client is tenant-mfa itself, first party to this IdP; granted silently.
      const grant = new provider.Grant({
        accountId: String(details.session?.accountId),
        clientId: String(details.params.client_id),
      });
      grant.addOIDCScope(String(details.params.scope));
      const missing = details.prompt.details.missingOIDCClaims;
      if (Array.isArray(missing)) grant.addOIDCClaims(missing as string[]);
      // Merged with the login just submitted, so that `prompt=login` counts as met.
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    if (req.method === "GET" && step === undefined) {
      sendLoginPage(res, details.uid, details.params, page);
      return;
    }
    if (req.method !== "POST") {
      res.statusCode = 405;
      res.end();
      return;
    }
    if (step === "/abort") {
      await finish(provider, req, res, {
        error: "access_denied",
        error_description: "the user cancelled the sign-in",
      });
      return;
    }
    const form = await readForm(req);
    const user = (form.get("username") ?? "").trim();
    const method = form.get("method");
    if (!USER_NAME.test(user) || (method !== "mfa" && method !== "key" && method !== "pwd")) {
      sendLoginPage(res, details.uid, details.params, page, {
        error: "Enter a user name (letters, digits, dots, hyphens, @) and choose how to sign in.",
        user,
      });
      return;
    }
    const signIn: { acr?: string; amr: readonly string[] } = DEMO_IDP_SIGN_INS[method];
    await finish(provider, req, res, {
      login: {
        accountId: user,
        ...(signIn.acr === undefined ? {} : { acr: signIn.acr }),
        amr: signIn.amr,
        ts: Math.floor(now().getTime() / 1000),
        remember: false,
      },
    });
  }

  const port = await listen(server, options.port, options.host);
  const issuer = options.issuer ?? `http://localhost:${String(port)}`;
  try {
    provider = new Provider(issuer, await configuration(options.client, interactionPolicy));
  } catch (error) {
    await closeNow(server);
    throw error;
  }

  return { issuer, close: () => closeNow(server) };
}

/**
 * oidc-provider's interaction policy, plus the step-up a real IdP makes: when the client asks for
 * MFA (`acr_values`, or the `acr` claim, essential as tenant-mfa asks for it here) and the live
 * session did not do MFA, the login page is shown again instead of answering from the session
 * with less. The login submitted in that interaction is final, whatever it proved: the person
 * may still choose "password only", and tenant-mfa must then refuse it, which is what the demo
 * shows. So oidc-provider's own checks of an essential `acr` are left out: they would show the
 * login page again after "password only" for as long as it is chosen. A production IdP unable to
 * meet an essential `acr` answers `unmet_authentication_requirements` instead (OIDC Core
 * §5.5.1.1), which tenant-mfa takes as "MFA unavailable" (docs/federation.md).
 */
function stepUpPolicy(interactionPolicy: InteractionPolicy) {
  const policy = interactionPolicy.base();
  const login = policy.get("login");
  login?.checks.remove("essential_acrs");
  login?.checks.remove("essential_acr");
  login?.checks.add(
    new interactionPolicy.Check(
      "mfa_step_up",
      "MFA was asked for and the session did not do MFA",
      (ctx) =>
        (ctx.oidc.claims?.id_token?.acr?.values ?? []).includes(REFEDS_MFA) &&
        ctx.oidc.result?.login === undefined &&
        ctx.oidc.acr !== REFEDS_MFA,
    ),
  );
  return policy;
}

async function configuration(
  client: DemoIdpClient,
  interactionPolicy: InteractionPolicy,
): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = `demo-${randomBytes(6).toString("base64url")}`;
  const signingKey = { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };
  return {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [...client.redirectUris],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "ES256",
        // OIDC Core §2: auth_time in every ID token, whether or not max_age was sent.
        require_auth_time: true,
      },
    ],
    adapter: memoryAdapter(),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    acrValues: [REFEDS_MFA],
    // acr and amr ride with the openid scope, as at most IdPs.
    claims: { openid: ["sub", "acr", "amr"], auth_time: null, sid: null, iss: null },
    features: { devInteractions: { enabled: false }, claimsParameter: { enabled: true } },
    pkce: { required: () => true },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      policy: stepUpPolicy(interactionPolicy),
    },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub }),
    }),
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 900,
      Session: 3600,
      Grant: 3600,
    },
  };
}

async function finish(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  result: InteractionResult,
): Promise<void> {
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

/** What the relying party asked for, in words, so the person sees what tenant-mfa requested. */
function describeRequest(params: Readonly<Record<string, unknown>>): string[] {
  const asked: string[] = [];
  if (typeof params.acr_values === "string" && params.acr_values !== "") {
    asked.push(`authentication context (acr) ${params.acr_values}`);
  }
  const essential = essentialAcrValues(params.claims);
  if (essential !== undefined) {
    asked.push(`authentication context (acr) ${essential.join(" ")}, as an essential claim`);
  }
  if (params.prompt === "login") asked.push("a fresh login (prompt=login)");
  if (typeof params.max_age === "string" || typeof params.max_age === "number") {
    asked.push(`an authentication at most ${String(params.max_age)} s old (max_age)`);
  }
  return asked;
}

/** The values of an essential `acr` in a `claims` parameter (oidc-provider parsed it already). */
function essentialAcrValues(claims: unknown): readonly string[] | undefined {
  if (typeof claims !== "string") return undefined;
  try {
    const acr = (JSON.parse(claims) as { id_token?: { acr?: unknown } }).id_token?.acr;
    if (typeof acr !== "object" || acr === null) return undefined;
    const { essential, values, value } = acr as Record<string, unknown>;
    if (essential !== true) return undefined;
    if (Array.isArray(values)) return values.filter((v): v is string => typeof v === "string");
    return typeof value === "string" ? [value] : undefined;
  } catch {
    return undefined;
  }
}

function sendLoginPage(
  res: ServerResponse,
  uid: string,
  params: Readonly<Record<string, unknown>>,
  page: { organisation: string; defaultUser: string; formTargets: readonly string[] },
  state: { error?: string; user?: string } = {},
): void {
  const asked = describeRequest(params);
  const action = `/interaction/${encodeURIComponent(uid)}`;
  const body = `
<h1>Sign in to ${escapeHtml(page.organisation)}</h1>
<p class="notice">This is the development identity provider bundled with the tenant-mfa demo.
It checks nothing: any password works. Choose below what your sign-in proved; the signed ID token
will say exactly that, and tenant-mfa decides from it.</p>
${asked.length === 0 ? "" : `<p class="muted">The application (tenant-mfa) asked for: ${asked.map(escapeHtml).join("; ")}.</p>`}
${state.error === undefined ? "" : `<p class="notice error" role="alert" id="login-error">${escapeHtml(state.error)}</p>`}
<form class="card" method="post" action="${action}/login">
  <label for="username">User name</label>
  <input type="text" id="username" name="username" value="${escapeHtml(state.user ?? page.defaultUser)}" autocomplete="username" required${state.error === undefined ? "" : ' aria-describedby="login-error"'}>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" value="" autocomplete="current-password">
  <fieldset>
    <legend>How do you sign in?</legend>
    <div class="actions">
      <button type="submit" name="method" value="mfa">Sign in with MFA (one-time code)</button>
      <button type="submit" name="method" value="key" class="secondary">Sign in with a security key</button>
      <button type="submit" name="method" value="pwd" class="secondary">Sign in with password only</button>
    </div>
    <p class="muted">With MFA the ID token says <code>amr: ["pwd","otp","mfa"]</code> and
    <code>acr: "${escapeHtml(REFEDS_MFA)}"</code>; with a security key,
    <code>amr: ["pwd","hwk","mfa"]</code> (phishing-resistant); with a password only,
    <code>amr: ["pwd"]</code> and no MFA <code>acr</code>.</p>
  </fieldset>
</form>
<form method="post" action="${action}/abort">
  <button type="submit" class="secondary">Cancel the sign-in</button>
</form>`;
  res.statusCode = 200;
  res.setHeader("content-type", "text/html; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.setHeader("content-security-policy", contentSecurityPolicy(page.formTargets));
  res.setHeader("x-content-type-options", "nosniff");
  res.end(
    renderPage({
      title: "Sign in",
      site: `${page.organisation} corporate IdP`,
      tagline: "development OpenID Connect provider (tenant-mfa demo)",
      body,
    }),
  );
}
