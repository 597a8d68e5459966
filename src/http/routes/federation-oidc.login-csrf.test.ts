// Threat: login CSRF through a direct OIDC sign-in (RFC 6749 §10.12, OIDC Core §15.5.2). Mallory
// starts a sign-in, signs in at the IdP as himself, stops before the callback, and makes the
// victim's browser load his callback URL: the victim would land at the platform with a decision
// about mallory, and work on in mallory's account. The start binds its `state` to the browser
// that made it (the browser cookie, of which only a digest is stored): a callback counts only in
// that browser. A callback refused in another browser uses up nothing (not the request, not the
// nonce, not the IdP's code), so an attacker holding the victim's callback cannot burn it either.
// Against the real `oidc-provider`, through the HTTP server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
  type PeerSignIn,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import {
  browserCookie,
  browserCookieAttributes,
  setBrowserCookie,
} from "../test-support/browser-cookie.js";
import type { TestServer } from "../test-support/open-test-server.js";
import {
  RETURN_URL,
  auditOf,
  callback,
  callbackFor,
  createTenant,
  openFederationServer,
  registerPeer,
  startSignIn,
  syncClock,
} from "../test-support/oidc-federation.js";

let peer: OidcProviderPeer;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
});
afterAll(() => peer.close());

let t: TestServer;
afterEach(() => t.close());

const MALLORY: PeerSignIn = { accountId: "mallory", acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
const ALICE: PeerSignIn = { accountId: "alice", acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
const MALLORYS_BROWSER = browserCookie("M");
const VICTIMS_BROWSER = browserCookie("V");
const JSON_ACCEPT = { accept: "application/json" };

/** A fresh server, tenant acme (idp_mfa) with the peer as its IdP `corp`; its auditor's key. */
async function acme(): Promise<string> {
  t = await openFederationServer(peer);
  await createTenant(t, "acme", "idp_mfa");
  const admin = await t.key(["tenant_admin"], ["acme"]);
  expect((await registerPeer(t, admin, "acme", peer)).statusCode).toBe(201);
  return t.key(["tenant_auditor"], ["acme"]);
}

/** A sign-in as `who` at the peer, started in the browser holding `cookie`. */
async function signedInAtPeer(who: PeerSignIn, cookie: string) {
  peer.nextSignIn = who;
  syncClock(t);
  return callbackFor(t, peer, { cookie });
}

function decisionIn(location: unknown): string | null {
  const url = new URL(String(location));
  expect(`${url.origin}${url.pathname}`).toBe(RETURN_URL);
  return url.searchParams.get("decision");
}

describe("a direct OIDC sign-in completes only in the browser that started it", () => {
  it("refuses mallory's callback in the victim's browser (federation.browser_mismatch), audited, deciding nothing", async () => {
    const auditor = await acme();
    const { path, authorization } = await signedInAtPeer(MALLORY, MALLORYS_BROWSER);

    // The victim's browser is made to load mallory's callback: refused, with the usual page.
    const page = await callback(t, path, VICTIMS_BROWSER);
    expect(page.statusCode).toBe(403);
    expect(page.headers.location).toBeUndefined();
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain("<code>federation.browser_mismatch</code>");
    expect(page.body).not.toContain("decision=");
    const json = await callback(t, path, VICTIMS_BROWSER, JSON_ACCEPT);
    expect([json.statusCode, json.json<{ code: string }>().code]).toEqual([
      403,
      "federation.browser_mismatch",
    ]);
    // A browser with no cookie at all is another browser too.
    const bare = await callback(t, path, "", JSON_ACCEPT);
    expect([bare.statusCode, bare.json<{ code: string }>().code]).toEqual([
      403,
      "federation.browser_mismatch",
    ]);

    const refused = await auditOf(t, auditor, "acme", "federation.rejected");
    expect(refused.map((e) => e.payload)).toEqual(
      Array.from({ length: 3 }, () => ({
        idp: "corp",
        protocol: "oidc",
        reason: "federation.browser_mismatch",
        detail: "the answer came back to another browser than the one that started the sign-in",
        request: authorization.searchParams.get("state"),
      })),
    );
    expect(await auditOf(t, auditor, "acme", "decision.recorded")).toEqual([]);
    // Nothing of the victim's request, nor of the cookie, reaches the audit chain.
    expect(JSON.stringify(refused)).not.toContain("VVVV");
  });

  it("leaves the sign-in whole for its own browser: a refused attempt elsewhere burns neither the request, the nonce nor the IdP's code", async () => {
    const auditor = await acme();
    // Alice's callback URL leaks (a log, a referrer); mallory presents it in his own browser.
    const { path } = await signedInAtPeer(ALICE, VICTIMS_BROWSER);
    const stolen = await callback(t, path, MALLORYS_BROWSER, JSON_ACCEPT);
    expect(stolen.statusCode).toBe(403);
    expect(stolen.headers.location).toBeUndefined();

    // Alice's own browser completes it afterwards: the code is redeemed once, now.
    const done = await callback(t, path, VICTIMS_BROWSER);
    expect(done.statusCode, done.body).toBe(303);
    const decision = decisionIn(done.headers.location);
    expect(decision).toMatch(/^dec_/);
    const receipt = await t.call("GET", `/v1/decisions/${String(decision)}`, { key: auditor });
    expect(receipt.json()).toMatchObject({ principal: "alice", outcome: "allow" });
    // And once only.
    const again = await callback(t, path, VICTIMS_BROWSER, JSON_ACCEPT);
    expect([again.statusCode, again.json<{ code: string }>().code]).toEqual([
      400,
      "federation.request_unknown",
    ]);
    expect(
      (await auditOf(t, auditor, "acme", "federation.rejected")).map((e) => e.payload["reason"]),
    ).toEqual(["federation.browser_mismatch", "federation.request_unknown"]);
  });

  it("binds to a cookie the start sets (random, HttpOnly, SameSite=Lax, Path=/), reused by later starts", async () => {
    await acme();
    const first = await startSignIn(t, "acme", {});
    expect(first.statusCode).toBe(303);
    const attributes = browserCookieAttributes(first);
    expect(attributes[0]).toMatch(/^tmfa_browser=[A-Za-z0-9_-]{43}$/);
    expect(
      attributes
        .map((a) => a.toLowerCase())
        .slice(1)
        .sort(),
    ).toEqual(["httponly", "path=/", "samesite=lax"]);
    const second = await startSignIn(t, "acme", {});
    expect(setBrowserCookie(second)).not.toBe(setBrowserCookie(first));
    // A browser that has one keeps it.
    const again = await startSignIn(t, "acme", { cookie: setBrowserCookie(first) ?? "" });
    expect(again.statusCode).toBe(303);
    expect(setBrowserCookie(again)).toBeUndefined();
  });

  it("completes two sign-ins started in two tabs of one browser, in either order", async () => {
    const auditor = await acme();
    const first = await signedInAtPeer(ALICE, VICTIMS_BROWSER);
    const second = await signedInAtPeer({ ...ALICE, accountId: "bob" }, VICTIMS_BROWSER);
    const bob = await callback(t, second.path, VICTIMS_BROWSER);
    const alice = await callback(t, first.path, VICTIMS_BROWSER);
    const decided = [alice, bob].map((response) => {
      expect(response.statusCode, response.body).toBe(303);
      return decisionIn(response.headers.location);
    });
    const principals = await Promise.all(
      decided.map(async (id) => {
        const r = await t.call("GET", `/v1/decisions/${String(id)}`, { key: auditor });
        return r.json<{ principal: string }>().principal;
      }),
    );
    expect(principals).toEqual(["alice", "bob"]);
  });
});
