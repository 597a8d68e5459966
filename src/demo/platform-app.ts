/**
 * The demo "platform": the SaaS application whose sign-in tenant-mfa guards, reduced to what
 * shows the integration, written on the SDK (`tenant-mfa/sdk`) as a real platform would be. It
 * checks its own first factor (a simulated password), creates a hosted flow with its backend API
 * key (`startStepUp`), sends the browser there, and on the way back checks `state`, exchanges the
 * one-time code (`exchangeCode`) and verifies the assurance token against tenant-mfa's JWKS
 * (`verifyAssuranceToken`) before believing anything. A "sensitive action" judges the token it
 * holds against its needs (`checkAssurance`) and asks for a step-up when it falls short.
 *
 * Plain `node:http`, server-rendered pages, no script; sessions in memory, keyed by an
 * HttpOnly SameSite=Lax cookie; every form carries the session's CSRF token.
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import {
  AssuranceTokenError,
  checkAssurance,
  exchangeCode,
  startStepUp,
  TenantMfaApiError,
  verifyAssuranceToken,
  type AssuranceNeeds,
  type AssuranceShortfall,
  type AssuranceTokenClaims,
  type ExchangedCode,
  type RequirementSpec,
  type TenantMfaClient,
} from "../sdk/index.js";
import { DEMO_PEOPLE, type DemoPerson } from "./demo-people.js";
import {
  contentSecurityPolicy,
  escapeHtml,
  renderPage,
  STYLESHEET,
  STYLESHEET_PATH,
} from "./html.js";
import { closeNow, listen } from "./listen.js";
import { readForm } from "./read-form.js";

/** The password every demo person has on the platform (the platform's own first factor). */
export const DEMO_PASSWORD = "demo";

/** What a sensitive action needs beyond the sign-in: phishing-resistant MFA, 5 minutes fresh. */
export const SENSITIVE_ACTION_NEEDS: AssuranceNeeds = {
  phishingResistant: true,
  maxAgeSeconds: 300,
};

/**
 * The audience the demo platform names when it creates a flow, and requires of every token: a
 * token issued for another client of tenant-mfa is not one for this platform.
 */
export const DEMO_PLATFORM_AUDIENCE = "demo-platform";

const COOKIE = "demo_platform_session";
const MAX_SESSIONS = 1000;

/** Options of {@link startPlatformApp}. */
export interface PlatformAppOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** The origin browsers use. Default `http://localhost:PORT`. */
  readonly url?: string;
  readonly tenantMfa: {
    /** Where the backend calls the API (and reads the JWKS). */
    readonly apiUrl: string;
    /** tenant-mfa's public URL: the tokens' issuer and where its pages are. */
    readonly publicUrl: string;
    /** An API key with role `platform_service`. */
    readonly apiKey: string;
    /** The `aud` asked for at flow creation and required of tokens. Default "demo-platform". */
    readonly audience?: string;
  };
  readonly people?: readonly DemoPerson[];
  readonly now?: () => Date;
}

/** A running demo platform. */
export interface PlatformApp {
  readonly url: string;
  close(): Promise<void>;
}

interface SignedIn {
  readonly person: DemoPerson;
  readonly passwordAt?: string;
  readonly exchange: ExchangedCode;
  readonly claims: AssuranceTokenClaims;
}

interface Session {
  readonly id: string;
  readonly csrf: string;
  pending?: {
    state: string;
    person: DemoPerson;
    purpose: "sign-in" | "step-up";
    passwordAt?: string;
  };
  signedIn?: SignedIn;
  /** The sensitive action unlocked: by the sign-in's own token, or by a step-up's. */
  sensitive?: { readonly by: "sign-in" } | { readonly by: "step-up"; readonly result: SignedIn };
}

const SITE = "Demo Platform";
const TAGLINE = "a SaaS platform whose sign-in tenant-mfa guards";

class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly html: string,
  ) {
    super(title);
  }
}

/** Starts the demo platform on loopback. */
export async function startPlatformApp(options: PlatformAppOptions): Promise<PlatformApp> {
  const people = options.people ?? DEMO_PEOPLE;
  const now = options.now ?? (() => new Date());
  const client: TenantMfaClient = {
    baseUrl: options.tenantMfa.apiUrl,
    apiKey: options.tenantMfa.apiKey,
  };
  const audience = options.tenantMfa.audience ?? DEMO_PLATFORM_AUDIENCE;
  const verifyWith = {
    jwksUrl: new URL("/.well-known/jwks.json", options.tenantMfa.apiUrl).href,
    issuer: options.tenantMfa.publicUrl,
    audience,
  };
  const tenantMfaOrigin = new URL(options.tenantMfa.publicUrl).origin;
  const sessions = new Map<string, Session>();
  let self = "";

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (error instanceof PageError) {
        send(res, error.status, error.title, error.html);
        return;
      }
      send(
        res,
        500,
        "Something failed",
        `<h1>Something failed</h1><p class="notice error" role="alert">${escapeHtml(error instanceof Error ? error.message : String(error))}</p>${homeLink}`,
      );
    });
  });

  function send(res: ServerResponse, status: number, title: string, body: string): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.statusCode = status;
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.setHeader("cache-control", "no-store");
    res.setHeader("content-security-policy", contentSecurityPolicy([tenantMfaOrigin]));
    res.setHeader("x-content-type-options", "nosniff");
    // Not `no-referrer`: under it Chromium sends `Origin: null` with the page's own form posts,
    // which postedForm refuses. `same-origin` sends nothing (no callback URL) to other sites.
    res.setHeader("referrer-policy", "same-origin");
    res.end(renderPage({ title, site: SITE, tagline: TAGLINE, body }));
  }

  function redirect(res: ServerResponse, location: string): void {
    res.statusCode = 303;
    res.setHeader("location", location);
    res.setHeader("cache-control", "no-store");
    res.end();
  }

  function sessionOf(req: IncomingMessage, res: ServerResponse): Session {
    const id = readCookie(req, COOKIE);
    const known = id === undefined ? undefined : sessions.get(id);
    if (known !== undefined) return known;
    const session: Session = {
      id: randomBytes(32).toString("base64url"),
      csrf: randomBytes(32).toString("base64url"),
    };
    if (sessions.size >= MAX_SESSIONS) {
      const oldest = sessions.keys().next().value;
      if (oldest !== undefined) sessions.delete(oldest);
    }
    sessions.set(session.id, session);
    res.setHeader("set-cookie", `${COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Lax`);
    return session;
  }

  async function postedForm(req: IncomingMessage, session: Session): Promise<URLSearchParams> {
    const origin = req.headers.origin;
    const form = await readForm(req);
    if (
      (origin !== undefined && origin !== self) ||
      !sameSecret(form.get("csrf") ?? "", session.csrf)
    ) {
      throw new PageError(
        403,
        "Refused",
        `<h1>Refused</h1><p class="notice error" role="alert">This form did not come from this page (its CSRF token or origin is wrong). Start again from the home page.</p>${homeLink}`,
      );
    }
    return form;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", self);
    const path = url.pathname;
    if (req.method === "GET" && path === STYLESHEET_PATH) {
      res.setHeader("content-type", "text/css; charset=utf-8");
      res.setHeader("cache-control", "public, max-age=3600");
      res.end(STYLESHEET);
      return;
    }
    const session = sessionOf(req, res);
    const signIn = /^\/sign-in\/([^/]+)$/.exec(path);

    if (req.method === "GET" && path === "/") {
      send(res, 200, "Sign in", homePage(people, session));
      return;
    }
    if (signIn !== null) {
      const person = people.find((p) => p.handle === decodeURIComponent(signIn[1] ?? ""));
      if (person === undefined) throw notFound();
      if (req.method === "GET") {
        send(res, 200, `Sign in as ${person.handle}`, signInPage(person, session));
        return;
      }
      if (req.method === "POST") {
        const form = await postedForm(req, session);
        let passwordAt: string | undefined;
        if (!person.sso) {
          if (form.get("password") !== DEMO_PASSWORD) {
            send(
              res,
              200,
              `Sign in as ${person.handle}`,
              signInPage(
                person,
                session,
                `Wrong password. Every demo person's password is "${DEMO_PASSWORD}".`,
              ),
            );
            return;
          }
          passwordAt = now().toISOString();
        }
        await startFlow(res, session, person, passwordAt);
        return;
      }
    }
    if (req.method === "GET" && path === "/callback") {
      await callback(url, res, session);
      return;
    }
    if (req.method === "GET" && path === "/account") {
      if (session.signedIn === undefined) {
        redirect(res, "/");
        return;
      }
      send(res, 200, "Signed in", accountPage(session, session.signedIn));
      return;
    }
    if (req.method === "POST" && path === "/sensitive") {
      await postedForm(req, session);
      const signedIn = session.signedIn;
      if (signedIn === undefined) {
        redirect(res, "/");
        return;
      }
      // The latest token in hand may already be enough (a passkey a minute ago); else ask for
      // exactly the action's needs, which the new token must meet on its own.
      const held = session.sensitive?.by === "step-up" ? session.sensitive.result : signedIn;
      const check = checkAssurance(held.claims, SENSITIVE_ACTION_NEEDS, now());
      if (check.ok) {
        if (held === signedIn) session.sensitive = { by: "sign-in" };
        redirect(res, "/account");
        return;
      }
      delete session.sensitive;
      await startFlow(res, session, signedIn.person, signedIn.passwordAt, check.stepUp);
      return;
    }
    if (req.method === "POST" && path === "/sign-out") {
      await postedForm(req, session);
      delete session.signedIn;
      delete session.sensitive;
      delete session.pending;
      redirect(res, "/");
      return;
    }
    throw notFound();
  }

  /** Starts a hosted flow: a sign-in, or with `stepUp` the sensitive action's step-up. */
  async function startFlow(
    res: ServerResponse,
    session: Session,
    person: DemoPerson,
    passwordAt: string | undefined,
    stepUp?: RequirementSpec,
  ): Promise<void> {
    const purpose = stepUp === undefined ? "sign-in" : "step-up";
    const state = randomBytes(24).toString("base64url");
    let started;
    try {
      started = await startStepUp(client, {
        tenant: person.tenant,
        principal: { id: person.principal },
        returnTo: `${self}/callback`,
        state,
        audience,
        ...(stepUp === undefined ? {} : { stepUp }),
        ...(passwordAt === undefined
          ? {}
          : { verified: [{ method: "password", source: "platform", at: passwordAt }] }),
      });
    } catch (error) {
      throw apiFailure("tenant-mfa did not start the flow", error);
    }
    session.pending = {
      state,
      person,
      purpose,
      ...(passwordAt === undefined ? {} : { passwordAt }),
    };
    redirect(res, started.url);
  }

  async function callback(url: URL, res: ServerResponse, session: Session): Promise<void> {
    const pending = session.pending;
    const state = url.searchParams.get("state") ?? "";
    if (pending === undefined || !sameSecret(state, pending.state)) {
      throw new PageError(
        400,
        "Not our sign-in",
        `<h1>Not a sign-in of this browser</h1><p class="notice error" role="alert">This answer does not match a sign-in started in this browser (its <code>state</code> is wrong or the sign-in was already finished), so its code was not used.</p>${homeLink}`,
      );
    }
    delete session.pending;
    const error = url.searchParams.get("error");
    if (error !== null) {
      send(res, 200, "Not signed in", refusedPage(pending.person, error));
      return;
    }
    const code = url.searchParams.get("code");
    if (code === null || code === "") {
      throw new PageError(
        400,
        "No code",
        `<h1>No code</h1><p class="notice error" role="alert">tenant-mfa sent the browser back without a code or an error.</p>${homeLink}`,
      );
    }
    let exchange: ExchangedCode;
    try {
      exchange = await exchangeCode(client, code);
    } catch (failure) {
      throw apiFailure("tenant-mfa did not exchange the code", failure);
    }
    let claims: AssuranceTokenClaims;
    try {
      // Bound to the tenant and the person this browser's sign-in was started for.
      claims = await verifyAssuranceToken(exchange.token, {
        ...verifyWith,
        tenant: pending.person.tenant,
        subject: pending.person.principal,
      });
    } catch (failure) {
      const why =
        failure instanceof AssuranceTokenError
          ? `${failure.message} (<code>${escapeHtml(failure.code)}</code>)`
          : escapeHtml(failure instanceof Error ? failure.message : String(failure));
      throw new PageError(
        502,
        "Token refused",
        `<h1>The assurance token did not verify</h1><p class="notice error" role="alert">${why}</p><p>The platform believes nothing it cannot verify, so nobody is signed in.</p>${homeLink}`,
      );
    }
    const result: SignedIn = {
      person: pending.person,
      exchange,
      claims,
      ...(pending.passwordAt === undefined ? {} : { passwordAt: pending.passwordAt }),
    };
    if (pending.purpose === "step-up" && session.signedIn !== undefined) {
      // A token proves what it says, not what was asked for: check it meets the action's needs.
      const check = checkAssurance(claims, SENSITIVE_ACTION_NEEDS, now());
      if (!check.ok) {
        throw new PageError(
          403,
          "Step-up not enough",
          `<h1>The sensitive action stays locked</h1><p class="notice error" role="alert">The step-up token verified, but ${escapeHtml(describeShortfall(check.shortfall))}.</p><p><a href="/account">Back to the account</a></p>`,
        );
      }
      session.sensitive = { by: "step-up", result };
    } else {
      session.signedIn = result;
      delete session.sensitive;
    }
    redirect(res, "/account");
  }

  const port = await listen(server, options.port, options.host);
  self = (options.url ?? `http://localhost:${String(port)}`).replace(/\/+$/, "");

  return {
    url: self,
    close: () => closeNow(server),
  };
}

/** What `checkAssurance` found missing, in words. */
function describeShortfall(shortfall: AssuranceShortfall): string {
  const parts: string[] = [];
  if (shortfall.aal !== undefined) {
    parts.push(
      `its assurance level is AAL${String(shortfall.aal.actual)}, not AAL${String(shortfall.aal.required)}`,
    );
  }
  if (shortfall.phishingResistant !== undefined) {
    parts.push("its proof is not phishing-resistant (phr is false)");
  }
  if (shortfall.age !== undefined) {
    parts.push(
      `its authentication is ${String(shortfall.age.ageSeconds)} s old, more than ${String(shortfall.age.maxAgeSeconds)} s`,
    );
  }
  return parts.join("; ");
}

const homeLink = `<p><a href="/">Back to the demo people</a></p>`;

const notFound = () =>
  new PageError(404, "Not found", `<h1>Not found</h1><p>There is no such page.</p>${homeLink}`);

function apiFailure(what: string, error: unknown): PageError {
  const detail =
    error instanceof TenantMfaApiError
      ? `${error.message} (${error.status === undefined ? "no answer" : `HTTP ${String(error.status)}`}, code ${error.code})`
      : error instanceof Error
        ? error.message
        : String(error);
  return new PageError(
    502,
    "tenant-mfa failed",
    `<h1>${escapeHtml(what)}</h1><p class="notice error" role="alert">${escapeHtml(detail)}</p>${homeLink}`,
  );
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

const csrfField = (session: Session) =>
  `<input type="hidden" name="csrf" value="${escapeHtml(session.csrf)}">`;

function homePage(people: readonly DemoPerson[], session: Session): string {
  const signedIn =
    session.signedIn === undefined
      ? ""
      : `<p class="notice ok">Signed in as <strong>${escapeHtml(session.signedIn.person.handle)}</strong>. <a href="/account">See the token</a>.</p>`;
  const rows = people
    .map(
      (person) => `<li>
  <div><div class="who">${escapeHtml(person.name)} <span class="muted">${escapeHtml(person.handle)}</span></div>
  <div class="what">${escapeHtml(person.organisation)}: ${escapeHtml(person.path)}</div></div>
  <a class="button" href="/sign-in/${encodeURIComponent(person.handle)}">Sign in as ${escapeHtml(person.principal)}</a>
</li>`,
    )
    .join("\n");
  return `<h1>Who signs in?</h1>
${signedIn}
<p>Each person belongs to an organisation (a tenant) whose MFA policy tenant-mfa enforces. The platform
checks its own password, then hands the sign-in to tenant-mfa, which guides the person through the one
path their organisation accepts and returns a signed assurance token.</p>
<ul class="people">
${rows}
</ul>`;
}

function signInPage(person: DemoPerson, session: Session, error?: string): string {
  const alert =
    error === undefined
      ? ""
      : `<p class="notice error" role="alert" id="password-error">${escapeHtml(error)}</p>`;
  const fields = person.sso
    ? `<p>${escapeHtml(person.organisation)} signs its people in at its own identity provider: the platform
asks no password. tenant-mfa will send you there and check the IdP's signed proof of MFA.</p>`
    : `<p>First the platform's own password (simulated; it is prefilled). Then tenant-mfa takes over.</p>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" value="${DEMO_PASSWORD}" autocomplete="current-password"${error === undefined ? "" : ' aria-describedby="password-error"'}>`;
  return `<h1>Sign in as ${escapeHtml(person.name)}</h1>
<p class="muted">${escapeHtml(person.handle)} · ${escapeHtml(person.organisation)}: ${escapeHtml(person.path)}</p>
${alert}
<form class="card" method="post" action="/sign-in/${encodeURIComponent(person.handle)}">
  ${csrfField(session)}
  <label for="user">User</label>
  <input type="text" id="user" name="user" value="${escapeHtml(person.handle)}" autocomplete="username" readonly>
  ${fields}
  <div class="actions"><button type="submit">${person.sso ? `Continue to ${escapeHtml(person.organisation)}` : "Sign in"}</button></div>
</form>
${homeLink}`;
}

const REFUSALS: Readonly<Record<string, string>> = {
  access_denied:
    "tenant-mfa refused the sign-in: the organisation's policy was not met (or the person cancelled). The platform signs nobody in.",
  reauthenticate:
    "tenant-mfa asks the platform to check its own password again (the one it was given is too old), then to start a new flow.",
};

function refusedPage(person: DemoPerson, error: string): string {
  const meaning =
    REFUSALS[error] ?? "tenant-mfa ended the flow with an error the platform does not know.";
  return `<h1>Not signed in</h1>
<p class="notice error" role="alert">tenant-mfa answered <code>error=${escapeHtml(error)}</code> for ${escapeHtml(person.handle)}.</p>
<p>${escapeHtml(meaning)}</p>
<div class="actions"><a class="button" href="/sign-in/${encodeURIComponent(person.handle)}">Try again</a></div>
${homeLink}`;
}

const when = (seconds: number) =>
  `<time datetime="${new Date(seconds * 1000).toISOString()}">${escapeHtml(new Date(seconds * 1000).toISOString())}</time> <span class="muted">(${String(seconds)})</span>`;

function claimsTable(result: SignedIn): string {
  const c = result.claims;
  const mandates =
    c.policy_versions.mandates.length === 0
      ? "none"
      : c.policy_versions.mandates.map((m) => `${m.id} v${String(m.version)}`).join(", ");
  const rows: [string, string][] = [
    ["Principal (sub)", escapeHtml(c.sub)],
    ["Tenant", escapeHtml(c.tenant)],
    ["Assurance level (aal)", `AAL${escapeHtml(c.aal)}`],
    ["Phishing-resistant (phr)", c.phr ? "yes" : "no"],
    ["Methods (amr)", `<code>${escapeHtml(JSON.stringify(c.amr))}</code>`],
    ["Context (acr)", `<code>${escapeHtml(c.acr)}</code>`],
    ["Authenticated at (auth_time)", when(c.auth_time)],
    ["Decision (receipt id)", `<code>${escapeHtml(c.decision)}</code>`],
    [
      "Policy versions",
      `tenant policy ${c.policy_versions.tenant_policy === null ? "none" : `v${String(c.policy_versions.tenant_policy)}`}; mandates: ${escapeHtml(mandates)}`,
    ],
    [
      "Exemption",
      c.exemption === undefined
        ? "none"
        : `<code>${escapeHtml(c.exemption.id)}</code>, until ${when(c.exemption.expires_at)}`,
    ],
    ["Issuer (iss) / audience (aud)", `${escapeHtml(c.iss)} / ${escapeHtml(c.aud)}`],
    ["Expires (exp)", when(c.exp)],
  ];
  return `<table>
${rows.map(([name, value]) => `<tr><th scope="row">${name}</th><td>${value}</td></tr>`).join("\n")}
</table>
<details><summary>The token itself (${escapeHtml(result.exchange.tokenType)})</summary><pre>${escapeHtml(result.exchange.token)}</pre></details>`;
}

function accountPage(session: Session, signedIn: SignedIn): string {
  const sensitive = session.sensitive;
  const stepUp =
    sensitive === undefined
      ? `<p>A sensitive action (say, changing the payout bank account) needs a phishing-resistant
proof at most 5 minutes old. The platform checks the token it holds against that
(<code>checkAssurance</code>); when it falls short, it asks tenant-mfa for a step-up.</p>
<form method="post" action="/sensitive">${csrfField(session)}<button type="submit">Sensitive action</button></form>`
      : sensitive.by === "sign-in"
        ? `<p class="notice ok">Sensitive action done: the sign-in's token already meets its needs (phishing-resistant, at most 5 minutes old), so no step-up was asked.</p>
<form method="post" action="/sensitive">${csrfField(session)}<button type="submit" class="secondary">Sensitive action again</button></form>`
        : `<p class="notice ok">Step-up done: the sensitive action may proceed. The second token:</p>
${claimsTable(sensitive.result)}
<form method="post" action="/sensitive">${csrfField(session)}<button type="submit" class="secondary">Sensitive action again</button></form>`;
  return `<h1>Signed in as ${escapeHtml(signedIn.person.name)}</h1>
<p class="notice ok">tenant-mfa vouched for <strong>${escapeHtml(signedIn.person.handle)}</strong>, and the platform verified its signed token with the keys at <code>/.well-known/jwks.json</code>.</p>
<h2>The assurance token's claims</h2>
${claimsTable(signedIn)}
<h2>Sensitive action</h2>
${stepUp}
<div class="actions">
<form method="post" action="/sign-out">${csrfField(session)}<button type="submit" class="secondary">Sign out</button></form>
<a class="button" href="/">Demo people</a>
</div>`;
}
