// Threat: another site embeds the federation endpoints that change something (an <iframe>,
// <embed>, <object> or <img> aiming at a direct sign-in's start, an OIDC callback or a SAML
// completion). Embedded, the start sets a browser cookie the browser may never keep and
// remembers a sign-in no one asked for, and a callback or completion loaded out of sight spends
// its one-time answer in a frame the user never sees (or, framed, under another site's
// clothes). As the hosted flow page does, a request whose Sec-Fetch-Dest names anything but a
// document is refused unread (`request.not_a_navigation`, 400): no cookie, no redirect, nothing
// used up. A browser too old to send the header is let through. Against the real
// `oidc-provider` and the real samlify IdP, through the HTTP server.
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { browserCookie } from "../test-support/browser-cookie.js";
import { REFEDS_MFA as SAML_MFA, TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  RETURN_URL,
  callback,
  callbackFor,
  createTenant,
  openFederationServer,
  registerPeer,
  syncClock,
} from "../test-support/oidc-federation.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../test-support/saml-federation.js";

const EMBEDDED = ["iframe", "frame", "embed", "object", "image", "script", "empty"];
const BROWSER = browserCookie("A");
const START = `/t/acme/idps/corp/start?return_to=${encodeURIComponent(RETURN_URL)}`;

let peer: OidcProviderPeer;
let t: TestServer;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
  t = await openFederationServer(peer);
  await createTenant(t, "acme", "idp_mfa");
  const admin = await t.key(["tenant_admin"], ["acme"]);
  expect((await registerPeer(t, admin, "acme", peer)).statusCode).toBe(201);
});
afterAll(async () => {
  await t.close();
  await peer.close();
});

const get = (path: string, headers: Record<string, string>) =>
  t.call("GET", path, { headers: { cookie: BROWSER, ...headers } });

/**
 * The refusal, as a page for a person and as a problem for a client asking for JSON, at the OIDC
 * server in {@link BROWSER} unless told another server and browser cookie.
 */
async function expectRefused(
  path: string,
  destination: string,
  at: { server: TestServer; cookie: string } = { server: t, cookie: BROWSER },
): Promise<void> {
  const send = (headers: Record<string, string>) =>
    at.server.call("GET", path, { headers: { cookie: at.cookie, ...headers } });
  const page = await send({ "sec-fetch-dest": destination });
  expectNothingDone(page, destination);
  expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
  expect(page.body).toContain("<code>request.not_a_navigation</code>");
  const json = await send({ "sec-fetch-dest": destination, accept: "application/json" });
  expectNothingDone(json, destination);
  expect(json.json<{ code: string }>().code).toBe("request.not_a_navigation");
}

function expectNothingDone(response: LightMyRequestResponse, destination: string): void {
  expect(response.statusCode, destination).toBe(400);
  expect(response.headers.location, destination).toBeUndefined();
  expect(response.headers["set-cookie"], destination).toBeUndefined();
}

describe("a federation endpoint that changes something, fetched for anything but a document", () => {
  it("refuses a direct sign-in's start, which a navigation or an older browser still makes", async () => {
    for (const destination of EMBEDDED) await expectRefused(START, destination);
    for (const headers of [{ "sec-fetch-dest": "document" }, {}]) {
      const started = await get(START, headers);
      expect(started.statusCode, started.body).toBe(303);
      expect(String(started.headers.location)).toMatch(new RegExp(`^${peer.issuer}/`));
    }
  });

  it("refuses an OIDC callback, using up nothing: the user's own navigation completes the sign-in", async () => {
    peer.nextSignIn = { accountId: "alice", acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
    syncClock(t);
    const { path, cookie } = await callbackFor(t, peer, { cookie: BROWSER });
    for (const destination of EMBEDDED) await expectRefused(path, destination);
    const completed = await callback(t, path, cookie, { "sec-fetch-dest": "document" });
    expect(completed.statusCode, completed.body).toBe(303);
    const back = new URL(String(completed.headers.location));
    expect(`${back.origin}${back.pathname}`).toBe(RETURN_URL);
    expect(back.searchParams.get("decision")).not.toBeNull();
  });

  it("refuses a SAML completion, claiming nothing: the sign-in's own navigation still completes it", async () => {
    const saml = await openTestServer({ bodyLimitBytes: 256 * 1024 });
    try {
      const idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
      await registerSamlTenant(saml, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN_URL] });
      const { acs: answered, cookie } = await answerAtAcs(saml, idp, RETURN_URL, {
        nameId: "alice@example.org",
        authnContextClassRef: SAML_MFA,
      });
      const acs = must(answered, 303);
      const completion = new URL(String(acs.headers.location));
      for (const destination of EMBEDDED) {
        await expectRefused(`${completion.pathname}${completion.search}`, destination, {
          server: saml,
          cookie,
        });
      }
      const completed = must(
        await followCompletion(saml, acs, cookie, { "sec-fetch-dest": "document" }),
        303,
      );
      const back = new URL(String(completed.headers.location));
      expect(`${back.origin}${back.pathname}`).toBe(RETURN_URL);
      expect(back.searchParams.get("decision")).toMatch(/^dec_/);
    } finally {
      await saml.close();
    }
  });
});
