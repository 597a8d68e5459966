/**
 * Threat: a principal whose binding to an IdP went stale (the tenant registered that IdP id
 * again with another issuer or entity id, idp-binding.registration-change.test.ts) is sent on a
 * trip that must fail: the hosted flow offers "continue at your organisation's IdP", the user
 * proves MFA there, and the answer is refused (`federation.idp_rebound`). The flow judges the
 * binding by the rule the answer is judged by: the stale IdP is no way through (under
 * `idp_or_platform` the platform's methods are offered instead; under `idp_mfa` the page says
 * that an administrator must bind the principal again, with the reason's code), a forged post
 * of its form goes nowhere. A registration again at the same issuer or entity id keeps
 * the binding, and binding again (`rebind: true`) makes the IdP a way in again. Through the HTTP
 * server, against the stub OIDC IdP and the real samlify IdP, on each database.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FlowBrowser } from "../application.js";
import type { FlowScreen } from "../flows/flow-screens.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Posture } from "../../core/vocabulary.js";
import { openStore } from "../../storage/open-store.js";
import { openFlowPage } from "../../http/test-support/open-flow-page.js";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import {
  auditOf,
  createTenant,
  registerStubIdp,
  RETURN_URL,
  syncClock,
} from "../../http/test-support/oidc-federation.js";
import { must } from "../../http/test-support/saml-federation.js";
import { startStubIdp, type StubIdp } from "../../verifiers/oidc/test-support/stub-idp.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";

type Protocol = "oidc" | "saml";
/** How "corp" is registered: as first, again at the same issuer or entity id, or at another. */
type Registration = "first" | "same" | "other";

const ENTITY = "https://idp.acme.example/saml";
const saml: Record<Registration, TestIdp> = {
  first: new TestIdp({ entityId: ENTITY }),
  // The same entity with a new signing key.
  same: new TestIdp({ entityId: ENTITY }),
  other: new TestIdp({ entityId: "https://idp.other.example/saml" }),
};
let first: StubIdp;
let second: StubIdp;
beforeAll(async () => {
  [first, second] = await Promise.all([startStubIdp(), startStubIdp()]);
});
afterAll(() => Promise.all([first.close(), second.close()]));

const browser: FlowBrowser = { cookie: "alice-browser-cookie-0123456789abcdef" };

describeOnEachStore("a principal whose IdP binding went stale", (url) => {
  let t: TestServer;
  let admin: string;
  let service: string;
  let version = 0;
  afterEach(() => t.close());

  async function open(posture: Posture, protocol: Protocol): Promise<void> {
    t = await openTestServer({ store: await openStore(await url()) });
    syncClock(t);
    await createTenant(t, "acme", posture);
    admin = await t.key(["tenant_admin"], ["acme"]);
    service = await t.key(["platform_service"], ["acme"]);
    version = 0;
    await register(protocol, "first");
    await bind(false);
  }

  /** Registers "corp" (again, over the version standing) as `registration` says. */
  async function register(protocol: Protocol, registration: Registration): Promise<void> {
    const at = version === 0 ? {} : { ifMatch: `"${String(version)}"` };
    const registered =
      protocol === "oidc"
        ? await registerStubIdp(t, admin, "acme", registration === "other" ? second : first, {}, at)
        : await t.call("PUT", "/v1/tenants/acme/idps/corp", {
            key: admin,
            ...(at.ifMatch === undefined ? {} : { headers: { "if-match": at.ifMatch } }),
            body: {
              protocol: "saml",
              saml: { metadataXml: saml[registration].metadataXml(), allowUnsolicited: false },
            },
          });
    must(registered, version === 0 ? 201 : 200);
    version += 1;
  }

  /** Binds alice to "corp" as registered now (`rebind`), or names it again as a sync does. */
  async function bind(rebind: boolean): Promise<void> {
    const bound = await t.call("PUT", "/v1/tenants/acme/principals/alice", {
      key: admin,
      body: { population: "sso", idp: "corp", ...(rebind ? { rebind: true } : {}) },
    });
    expect([200, 201]).toContain(bound.statusCode);
  }

  /** A new flow of alice's, after the platform's own password check: its creation's answer. */
  async function createFlow(): Promise<{ flow: string; url: string }> {
    const created = await t.call("POST", "/v1/tenants/acme/flows", {
      key: service,
      body: {
        principal: { id: "alice" },
        return_to: RETURN_URL,
        verified: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
      },
    });
    return must(created, 201).json();
  }

  /** The first screen of a new flow of alice's. */
  async function firstScreen(): Promise<FlowScreen> {
    const started = await createFlow();
    return t.app.flows.show("acme", started.flow, browser, { opening: openingOf(started) });
  }

  const idpsOffered = (screen: FlowScreen) =>
    screen.kind === "challenge"
      ? screen.options.flatMap((o) => (o.kind === "idp" ? [o.idp] : []))
      : `no choice on a ${screen.kind} screen`;

  it("names no stale binding on a denial it did not cause (the rules conflict)", async () => {
    await open("idp_mfa", "oidc");
    await register("oidc", "other");
    const uplift = await t.call("POST", "/v1/platform/mandates", {
      key: t.adminKey,
      body: {
        id: "on-platform",
        mandate: {
          title: "MFA on the platform",
          scope: { tenants: "all" },
          require: { proofSource: "platform" },
          exemptible: true,
        },
        rationale: "The tenants' IdPs are under review",
      },
    });
    must(uplift, 201);
    const denied = await firstScreen();
    expect(denied).toMatchObject({
      kind: "denied",
      reasons: [expect.objectContaining({ code: "requirement.conflict" })],
    });
    expect(denied).not.toHaveProperty("staleBinding");
    const [event] = (await auditOf(t, admin, "acme", "flow.denied")).slice(-1);
    expect(event?.payload).not.toHaveProperty("staleBinding");
  });

  for (const protocol of ["oidc", "saml"] as const) {
    describe(`at a ${protocol.toUpperCase()} IdP`, () => {
      it("under idp_or_platform offers the platform's methods and not the IdP, until bound again", async () => {
        await open("idp_or_platform", protocol);
        expect(idpsOffered(await firstScreen())).toEqual(["corp"]);
        await register(protocol, "same");
        expect(idpsOffered(await firstScreen())).toEqual(["corp"]);

        await register(protocol, "other");
        const stale = await firstScreen();
        expect(idpsOffered(stale)).toEqual([]);
        expect(stale.kind === "challenge" ? stale.options.map((o) => o.kind) : []).toEqual([
          "enroll_webauthn",
          "enroll_totp",
        ]);
        // Naming "corp" again, as a sync does, keeps the binding stale.
        await bind(false);
        expect(idpsOffered(await firstScreen())).toEqual([]);

        await bind(true);
        expect(idpsOffered(await firstScreen())).toEqual(["corp"]);
      });

      it("under idp_mfa says an administrator must bind the principal again, and sends it nowhere", async () => {
        await open("idp_mfa", protocol);
        expect(idpsOffered(await firstScreen())).toEqual(["corp"]);
        await register(protocol, "other");

        const stale = await firstScreen();
        expect(stale).toMatchObject({
          kind: "denied",
          staleBinding: { idp: "corp", name: "corp", reason: "federation.idp_rebound" },
        });
        const [denied] = (await auditOf(t, admin, "acme", "flow.denied")).slice(-1);
        expect(denied?.payload).toMatchObject({
          staleBinding: { idp: "corp", reason: "federation.idp_rebound" },
        });
        // The page says so in words and by the reason's code, and has no form to the IdP.
        const { page } = await openFlowPage(t.server, await createFlow());
        expect(page.statusCode).toBe(403);
        expect(page.body).toContain("an administrator of acme must link your account to it again");
        expect(page.body).toContain("<code>federation.idp_rebound</code>");
        expect(page.body).not.toContain('name="idp"');

        await bind(true);
        expect(idpsOffered(await firstScreen())).toEqual(["corp"]);
      });

      // The direct start needs no credential: judging the binding there would tell anyone which
      // principals exist and how they are bound. It answers for alice as for nobody.
      it("starts alice's direct sign-in as anyone's, telling nothing of her stale binding", async () => {
        await open("idp_mfa", protocol);
        await register(protocol, "other");
        const start = async (principal: string) => {
          const query = new URLSearchParams({ principal, return_to: RETURN_URL });
          const started = await t.server.inject({ url: `/t/acme/idps/corp/start?${query}` });
          const location = new URL(String(started.headers.location), "http://tenant-mfa.test");
          return [started.statusCode, location.origin + location.pathname];
        };
        const [status, target] = await start("alice");
        expect(status).toBe(303);
        expect([status, target]).toEqual(await start("nobody"));
      });

      it("refuses a forged post of the stale IdP's form without starting a sign-in", async () => {
        await open("idp_or_platform", protocol);
        await register(protocol, "other");
        const started = await createFlow();
        const screen = await t.app.flows.show("acme", started.flow, browser, {
          opening: openingOf(started),
        });
        const csrf = "frame" in screen ? screen.frame.csrfToken : "";
        const posted = await t.app.flows.act("acme", started.flow, browser, {
          kind: "idp",
          idp: "corp",
          csrf,
        });
        expect(posted).toMatchObject({ kind: "challenge", notice: { code: "idp.rejected" } });
        expect(await auditOf(t, admin, "acme", "flow.idp_started")).toEqual([]);
      });
    });
  }
});
