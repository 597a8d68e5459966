// Threat: the tenant replaces its IdP's registration (its keys leaked, say), yet a sign-in that
// registration verified, held by a flow, still opens the principal's first enrolment: whoever
// signed in there binds a TOTP or passkey of their own to a principal that has none, for the
// flow's lifetime. The decision stopped counting that proof; the enrolment gates must too.
// Against the real oidc-provider.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../../app/application.js";
import type { FlowScreen } from "../../app/flows/flow-screens.js";
import { openingOf } from "../../app/test-support/flow-opening.js";
import {
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { TestServer } from "../test-support/open-test-server.js";
import {
  RETURN_URL,
  atPeer,
  createTenant,
  openFederationServer,
  registerPeer,
  serverPath,
  syncClock,
} from "../test-support/oidc-federation.js";

let peer: OidcProviderPeer;
let t: TestServer;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
});
afterAll(() => peer.close());
afterEach(() => t.close());

const browser: FlowBrowser = { cookie: "browser-cookie-replaced-idp-0123456789" };
// The IdP answers with what the user did (a password), rather than refusing it itself.
const asksNothing = { request: { mfa: [] } };

const refused = (screen: FlowScreen) =>
  "notice" in screen ? screen.notice?.code : `no notice on ${screen.kind}`;

describe("a first enrolment on an IdP sign-in whose registration was replaced", () => {
  it("is neither begun nor finished once the tenant replaces the IdP's registration", async () => {
    t = await openFederationServer(peer);
    await createTenant(t, "acme", "idp_or_platform");
    const admin = await t.key(["tenant_admin"], ["acme"]);
    const service = await t.key(["platform_service"], ["acme"]);
    expect((await registerPeer(t, admin, "acme", peer, asksNothing)).statusCode).toBe(201);
    // dave has no authenticator, and the platform vouches for no first factor of its own: the
    // IdP sign-in alone is what opens his first enrolment.
    const created = await t.call("POST", "/v1/tenants/acme/flows", {
      key: service,
      body: { principal: { id: "dave", population: "sso" }, return_to: RETURN_URL },
    });
    expect(created.statusCode, created.body).toBe(201);
    const started = created.json<{ flow: string; url: string }>();
    const { flow } = started;
    const first = await t.app.flows.show("acme", flow, browser, { opening: openingOf(started) });
    if (!("frame" in first)) throw new Error(`unexpected first screen ${first.kind}`);
    const csrf = first.frame.csrfToken;

    peer.nextSignIn = { accountId: "dave", amr: ["pwd"] };
    syncClock(t);
    const toIdp = await t.app.flows.act("acme", flow, browser, { kind: "idp", idp: "corp", csrf });
    if (toIdp.kind !== "redirect") throw new Error(`expected a redirect, got ${toIdp.kind}`);
    const back = await t.call("GET", serverPath(peer, await atPeer(peer, toIdp.location)));
    expect(back.statusCode, back.body).toBe(303);
    const answer = new URL(String(back.headers.location)).searchParams.get("answer") ?? "";
    expect((await t.app.flows.show("acme", flow, browser, { answer })).kind).toBe("redirect");

    // While the registration stands, the sign-in opens dave's first enrolment.
    const offered = await t.app.flows.show("acme", flow, browser);
    expect("options" in offered ? offered.options.map((o) => o.kind) : []).toContain("enroll_totp");
    const begun = await t.app.flows.act("acme", flow, browser, { kind: "enroll_totp", csrf });
    if (begun.kind !== "enroll_totp") throw new Error(`expected enroll_totp, got ${begun.kind}`);

    const replaced = await registerPeer(t, admin, "acme", peer, asksNothing, { ifMatch: '"1"' });
    expect(replaced.statusCode, replaced.body).toBe(200);

    // The enrolment begun before the replacement finishes no more, with the right code.
    const confirmed = await t.app.flows.act("acme", flow, browser, {
      kind: "confirm_totp",
      csrf,
      authenticator: begun.authenticator,
      code: oathtoolCode(begun.secret, t.clock.now()),
    });
    expect(confirmed.kind).not.toBe("redirect");
    expect(refused(confirmed)).toBe("enrolment.not_allowed");
    // Nor does a new one begin, of either method.
    const totp = await t.app.flows.act("acme", flow, browser, { kind: "enroll_totp", csrf });
    expect(totp.kind).not.toBe("enroll_totp");
    expect(refused(totp)).toBe("enrolment.not_allowed");
    const passkey = await t.app.flows.act("acme", flow, browser, { kind: "enroll_webauthn", csrf });
    expect(passkey.kind).not.toBe("enroll_webauthn");
    expect(refused(passkey)).toBe("enrolment.not_allowed");
    await expect(
      t.app.flows.webauthnOptions("acme", flow, browser, { csrf, purpose: "registration" }),
    ).rejects.toMatchObject({ code: "flow.enrolment_not_allowed" });
    // And the page offers no enrolment either: the sign-in proves nothing now.
    const shown = await t.app.flows.show("acme", flow, browser);
    expect("options" in shown ? shown.options.map((o) => o.kind) : []).not.toContain("enroll_totp");
    expect("proven" in shown ? shown.proven : ["no challenge screen"]).not.toContain("federated");

    const active = await t.store.read((r) => r.authenticators.list("acme", "dave"));
    expect(active.filter((a) => a.status === "active")).toEqual([]);
    expect(await t.store.read((r) => r.webauthnCredentials.list("acme", "dave"))).toEqual([]);
  });
});
