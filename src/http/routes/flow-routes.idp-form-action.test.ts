/**
 * Threat: the hosted page's own Content Security Policy locking users out of their IdP. The
 * page's "sign in at your IdP" form posts here and is answered with a 303 to the IdP's
 * authorization endpoint, and Chrome applies `form-action` to the redirects that follow a post:
 * an endpoint on another origin than the issuer (Amazon Cognito: issuer
 * `https://cognito-idp.<region>.amazonaws.com/<pool>`, endpoint
 * `https://<domain>.auth.<region>.amazoncognito.com/oauth2/authorize`) must be named by the
 * policy, as its discovery document says. Reading discovery must not hold up pages that offer no
 * IdP, and a discovery that cannot be read still renders the page (its issuer allowed, as before).
 * Nor may an IdP whose discovery does not answer hold up every page that offers it (5 s each,
 * with a new request to the IdP each time): a page waits briefly for discovery, and one that
 * failed is not asked again by pages for a while; the sign-in itself reads it anew.
 */
import { afterEach, describe, expect, it } from "vitest";
import { openingPath } from "../../app/test-support/flow-opening.js";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf";
const AUTHORIZE = "https://acme-login.auth.eu-west-1.amazoncognito.com/oauth2/authorize";
const RETURN_URL = "https://app.acme.example/signed-in";
const COOKIE = `__Host-tmfa_browser=${"B".repeat(43)}`;

const discovery = {
  issuer: ISSUER,
  authorization_endpoint: AUTHORIZE,
  token_endpoint: "https://acme-login.auth.eu-west-1.amazoncognito.com/oauth2/token",
  jwks_uri: `${ISSUER}/.well-known/jwks.json`,
};

/**
 * A Cognito-like IdP's discovery, served, failing or not answering as `state` says, counting the
 * requests; `now` is the relying party's clock (milliseconds), which the test moves.
 */
function cognito() {
  const idp = { state: "up" as "up" | "down" | "silent", fetched: 0, now: Date.now() };
  const fetch = (_url: string, init: RequestInit) => {
    idp.fetched += 1;
    if (idp.state === "silent") {
      // Never answers; gives up only when the relying party aborts.
      return new Promise<Response>((_, reject) => {
        init.signal?.addEventListener("abort", () => {
          reject(new DOMException("aborted", "AbortError"));
        });
      });
    }
    return Promise.resolve(
      idp.state === "up"
        ? new Response(JSON.stringify(discovery), {
            status: 200,
            headers: { "content-type": "application/json" },
          })
        : new Response("unavailable", { status: 503 }),
    );
  };
  return { idp, oidc: createOidcProtocol({ fetch, clock: () => idp.now }) };
}

let t: TestServer;
afterEach(() => t.close());

/** A tenant of `posture` with the Cognito-like IdP, and a flow page for carol. */
async function flowPage(
  oidc: ReturnType<typeof cognito>["oidc"],
  posture: "idp_mfa" | "platform_mfa",
): Promise<string> {
  t = await openTestServer({ federation: { oidc } });
  const admin = t.adminKey;
  const tenant = await t.call("POST", "/v1/tenants", {
    key: admin,
    body: { id: "acme", name: "Acme", returnUrls: [RETURN_URL] },
  });
  expect(tenant.statusCode, tenant.body).toBe(201);
  const policy = await t.call("PUT", "/v1/tenants/acme/policy", {
    key: admin,
    headers: { "if-match": '"1"' },
    body: { policy: { posture }, rationale: posture },
  });
  expect(policy.statusCode, policy.body).toBe(200);
  const idp = await t.call("PUT", "/v1/tenants/acme/idps/corp", {
    key: admin,
    body: {
      protocol: "oidc",
      oidc: { issuer: ISSUER, clientId: "client", clientSecret: "secret", scopes: ["profile"] },
    },
  });
  expect(idp.statusCode, idp.body).toBe(201);
  const principal = await t.call("PUT", "/v1/tenants/acme/principals/carol", {
    key: admin,
    body: { population: posture === "idp_mfa" ? "sso" : "direct" },
  });
  expect(principal.statusCode, principal.body).toBe(200);
  const service = await t.key(["platform_service"], ["acme"]);
  const created = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: { principal: { id: "carol" }, return_to: RETURN_URL },
  });
  expect(created.statusCode, created.body).toBe(201);
  const started = created.json<{ flow: string; url: string }>();
  firstVisit = openingPath(started);
  return `/t/acme/flows/${started.flow}`;
}

/** The URL the API gave for the flow (with its opening secret), until the browser opens it. */
let firstVisit: string | undefined;

/**
 * The page as the browser gets it: its CSP's form-action sources and its CSRF token. The first
 * visit is at the URL the API gave, which binds the flow and sends the browser on to the page's
 * plain URL, where the later ones are too.
 */
async function open(page: string) {
  if (firstVisit?.startsWith(`${page}?`) === true) {
    const binding = await t.call("GET", firstVisit, { headers: { cookie: COOKIE } });
    expect(binding.statusCode, binding.body).toBe(303);
  }
  firstVisit = undefined;
  const opened = await t.call("GET", page, { headers: { cookie: COOKIE } });
  expect(opened.statusCode, opened.body).toBe(200);
  const csp = String(opened.headers["content-security-policy"]);
  const formAction = csp.split(";").find((d) => d.trim().startsWith("form-action")) ?? "";
  return {
    body: opened.body,
    formAction: formAction.trim().split(" ").slice(1),
    csrf: /name="csrf" value="([^"]+)"/.exec(opened.body)?.[1] ?? "",
  };
}

/** The browser picks the IdP on the flow page: the form's post, answered with a redirect. */
const chooseIdp = (page: string, csrf: string) =>
  t.server.inject({
    method: "POST",
    url: page,
    headers: {
      cookie: COOKIE,
      origin: "https://mfa.test",
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({ action: "idp", idp: "corp", csrf }).toString(),
  });

describe("the flow page's form-action and the IdP's authorization endpoint", () => {
  it("allows the IdP form's redirect to an authorization endpoint on another origin than the issuer", async () => {
    const { oidc } = cognito();
    const page = await flowPage(oidc, "idp_mfa");
    const opened = await open(page);
    const posted = await chooseIdp(page, opened.csrf);
    expect(posted.statusCode, posted.body).toBe(303);
    const target = new URL(String(posted.headers.location)).origin;
    expect(target).toBe(new URL(AUTHORIZE).origin);
    expect(opened.formAction).toEqual([
      "'self'",
      new URL(RETURN_URL).origin,
      new URL(ISSUER).origin,
      target,
    ]);
  });

  it("still renders the page when discovery cannot be read, allowing the issuer's origin", async () => {
    const { idp, oidc } = cognito();
    idp.state = "down";
    const page = await flowPage(oidc, "idp_mfa");
    const opened = await open(page);
    expect(idp.fetched).toBeGreaterThanOrEqual(1);
    expect(opened.formAction).toEqual([
      "'self'",
      new URL(RETURN_URL).origin,
      new URL(ISSUER).origin,
    ]);
    // Once the IdP answers again, a page names its endpoint: after the failure is forgotten.
    idp.state = "up";
    idp.now += 60_000;
    expect((await open(page)).formAction).toContain(new URL(AUTHORIZE).origin);
  });

  it("does not hold a page up for an IdP whose discovery does not answer, nor ask it again for each page", async () => {
    const { idp, oidc } = cognito();
    const page = await flowPage(oidc, "idp_mfa");
    idp.state = "silent";
    const timed = async () => {
      const started = performance.now();
      const opened = await open(page);
      return { opened, ms: performance.now() - started };
    };
    const first = await timed();
    expect(first.ms).toBeLessThan(2_000);
    expect(first.opened.formAction).toEqual([
      "'self'",
      new URL(RETURN_URL).origin,
      new URL(ISSUER).origin,
    ]);
    expect(idp.fetched).toBe(1);
    // The next pages join the request under way, then (once it failed) ask nothing for a while.
    expect((await timed()).ms).toBeLessThan(2_000);
    expect(idp.fetched).toBe(1);
  });

  it("asks a failed discovery again only after a while, or when a sign-in at the IdP starts", async () => {
    const { idp, oidc } = cognito();
    const page = await flowPage(oidc, "idp_mfa");
    idp.state = "down";
    const opened = await open(page);
    const fetched = idp.fetched;
    idp.state = "up";
    expect((await open(page)).formAction).not.toContain(new URL(AUTHORIZE).origin);
    expect(idp.fetched).toBe(fetched);
    // The sign-in reads discovery anew, and the pages after it name the endpoint.
    const posted = await chooseIdp(page, opened.csrf);
    expect(posted.statusCode, posted.body).toBe(303);
    expect(new URL(String(posted.headers.location)).origin).toBe(new URL(AUTHORIZE).origin);
    expect(idp.fetched).toBe(fetched + 1);
    expect((await open(page)).formAction).toContain(new URL(AUTHORIZE).origin);
  });

  it("reads no discovery for a page that offers no sign-in at the IdP", async () => {
    const { idp, oidc } = cognito();
    const page = await flowPage(oidc, "platform_mfa");
    const fetchedBefore = idp.fetched;
    const opened = await open(page);
    expect(opened.body).not.toContain('name="idp"');
    expect(idp.fetched).toBe(fetchedBefore);
    expect(opened.formAction).not.toContain(new URL(AUTHORIZE).origin);
  });
});
