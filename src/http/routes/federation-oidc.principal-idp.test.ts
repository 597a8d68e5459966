// Threat: IdP confusion inside one tenant. An OIDC `sub` (or a SAML NameID) is unique only at
// the IdP that issued it (OIDC Core §2): a tenant that trusts two IdPs, its own and a partner's,
// may have them name different people alike, and either could sign in as anyone of the tenant.
// A principal bound to one IdP (`idp` on the principal) is signed in by that IdP's answers only,
// and its hosted flows offer no other (DESIGN invariant 9), against two real OIDC providers.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openingOf } from "../../app/test-support/flow-opening.js";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import type { TestServer } from "../test-support/open-test-server.js";
import { browserCookie } from "../test-support/browser-cookie.js";
import {
  atPeer,
  callback,
  auditOf,
  createTenant,
  openFederationServer,
  publicUrlOf,
  RETURN_URL,
  registerPeer,
  serverPath,
  startSignIn,
  syncClock,
} from "../test-support/oidc-federation.js";

let corp: OidcProviderPeer;
let partner: OidcProviderPeer;
beforeAll(async () => {
  corp = await startOidcProviderPeer();
  partner = await startOidcProviderPeer({
    redirectUri: () => `${publicUrlOf(corp)}/t/acme/idps/partner/oidc/callback`,
  });
});
afterAll(async () => {
  await corp.close();
  await partner.close();
});

let t: TestServer;
let admin: string;
beforeEach(async () => {
  t = await openFederationServer(corp);
  await createTenant(t, "acme", "idp_mfa");
  admin = await t.key(["tenant_admin"], ["acme"]);
  expect((await registerPeer(t, admin, "acme", corp)).statusCode).toBe(201);
  expect((await registerPeer(t, admin, "acme", partner, {}, { idp: "partner" })).statusCode).toBe(
    201,
  );
});
afterEach(() => t.close());

const bind = (principal: string, idp: string | null) =>
  t.call("PUT", `/v1/tenants/acme/principals/${principal}`, {
    key: admin,
    body: { population: "sso", idp },
  });

/** The browser carol signs in with (its cookie). */
const BROWSER = browserCookie("C");

/** Carol signs in at `peer` (the tenant's IdP `idp`); the callback's answer. */
async function signInAt(peer: OidcProviderPeer, idp: string, accountId: string) {
  const started = await startSignIn(t, "acme", { cookie: BROWSER }, idp);
  expect(started.statusCode, started.body).toBe(303);
  peer.nextSignIn = { accountId, acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
  syncClock(t);
  const callbackUrl = await atPeer(peer, String(started.headers.location));
  return callback(t, serverPath(corp, callbackUrl), BROWSER);
}

describe("a principal bound to one of its tenant's IdPs", () => {
  it("is signed in by that IdP's answers only; another IdP naming it alike is refused and audited", async () => {
    expect((await bind("carol", "corp")).json()).toMatchObject({ id: "carol", idp: "corp" });
    const atPartner = await signInAt(partner, "partner", "carol");
    expect(atPartner.statusCode).toBe(400);
    const refused = await auditOf(t, admin, "acme", "federation.rejected");
    expect(refused.map((e) => [e.payload["idp"], e.payload["reason"]])).toEqual([
      ["partner", "federation.idp_not_bound"],
    ]);
    const atCorp = await signInAt(corp, "corp", "carol");
    expect(atCorp.statusCode, atCorp.body).toBe(303);
    expect(String(atCorp.headers.location)).toMatch(/^https:\/\/app\.acme\.example\/.*decision=/);
    // An unbound principal signs in at either, as before.
    expect((await signInAt(partner, "partner", "dave")).statusCode).toBe(303);
  });

  it("offers only its IdP in a hosted flow", async () => {
    await bind("carol", "partner");
    const service = await t.key(["platform_service"], ["acme"]);
    const created = await t.call("POST", "/v1/tenants/acme/flows", {
      key: service,
      body: { principal: { id: "carol" }, return_to: RETURN_URL },
    });
    const started = created.json<{ flow: string; url: string }>();
    const screen = await t.app.flows.show(
      "acme",
      started.flow,
      { cookie: "B".repeat(43), clientAddress: "127.0.0.1" },
      { opening: openingOf(started) },
    );
    expect(screen).toMatchObject({ kind: "challenge" });
    const offered = screen.kind === "challenge" ? screen.options : [];
    expect(offered.filter((o) => o.kind === "idp").map((o) => o.idp)).toEqual(["partner"]);
  });

  it("binds only to an IdP the tenant has, keeps the binding when left out, and unbinds on null", async () => {
    const unknown = await bind("carol", "nowhere");
    expect([unknown.statusCode, unknown.json<{ code: string }>().code]).toEqual([
      400,
      "request.invalid",
    ]);
    await bind("carol", "corp");
    const kept = await t.call("PUT", "/v1/tenants/acme/principals/carol", {
      key: admin,
      body: { population: "sso", displayName: "Carol" },
    });
    expect(kept.json()).toMatchObject({ idp: "corp", displayName: "Carol" });
    expect((await bind("carol", null)).json()).not.toHaveProperty("idp");
    const updates = await auditOf(t, admin, "acme", "principal.updated");
    expect(updates.at(-1)?.payload).toMatchObject({ idp: null, previousIdp: "corp" });
  });
});
