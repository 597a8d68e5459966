/**
 * Threat: a hosted flow completed by an IdP sign-in that proved no MFA, proved it for someone
 * else, or long ago; or a code exchanged for a token that says more than the IdP proved. The
 * flow is created and exchanged through the HTTP API, the IdP is a real `oidc-provider`, and the
 * platform verifies the token with `jose` and the published JWKS (DESIGN invariants 3, 7, 9).
 * Also: a browser's remembered IdP evidence earning new codes after the tenant removed or
 * re-registered that IdP (its keys leaked, say; DESIGN invariant 1), and an answer verified under
 * a registration that was removed or replaced while it was on its way to a pending flow. And an
 * answer held for a flow's browser when the principal's proofs are withdrawn (an authenticator
 * removed, recovery codes revoked): the flow forgets it, as it forgets what was verified in it;
 * and one verified before the withdrawal but held on the flow only after it counts no more.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Application, FlowBrowser } from "../../app/application.js";
import type { Repositories, Store } from "../../app/ports.js";
import { openStore } from "../../storage/open-store.js";
import type { FlowScreen } from "../../app/flows/flow-screens.js";
import { openingOf } from "../../app/test-support/flow-opening.js";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
  type PeerSignIn,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import type { TestServer } from "../test-support/open-test-server.js";
import {
  RETURN_URL,
  atPeer,
  auditOf,
  createTenant,
  openFederationServer,
  publicUrlOf,
  registerPeer,
  serverPath,
  syncClock,
} from "../test-support/oidc-federation.js";

let peer: OidcProviderPeer;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
});
afterAll(() => peer.close());

let t: TestServer;
let service: string;
let admin: string;
afterEach(() => t.close());

const browser: FlowBrowser = { cookie: "carol-browser-cookie-0123456789abcdef" };
const MFA: PeerSignIn = { accountId: "carol", acr: REFEDS_MFA, amr: ["pwd", "mfa"] };

async function acme(
  require?: { maxAgeSeconds: number },
  store?: Store,
  /** More of the IdP's registration (its `maxAuthenticationAgeSeconds`, say). */
  registration: Record<string, unknown> = {},
): Promise<void> {
  t = await openFederationServer(peer, store === undefined ? {} : { store });
  await createTenant(t, "acme", "idp_mfa", require);
  admin = await t.key(["tenant_admin"], ["acme"]);
  service = await t.key(["platform_service"], ["acme"]);
  expect(
    (await registerPeer(t, admin, "acme", peer, { request: { mfa: [] }, ...registration }))
      .statusCode,
  ).toBe(201);
  const registered = await t.call("PUT", "/v1/tenants/acme/principals/carol", {
    key: admin,
    body: { population: "sso" },
  });
  expect(registered.statusCode).toBe(200);
}

async function createFlow(stepUp?: Record<string, unknown>): Promise<string> {
  const created = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: {
      principal: { id: "carol" },
      return_to: RETURN_URL,
      state: "xyz",
      ...(stepUp === undefined ? {} : { step_up: stepUp }),
    },
  });
  expect(created.statusCode, created.body).toBe(201);
  const body = created.json<{ flow: string; url: string }>();
  // The flow's page, with the opening secret its first visit must bring.
  const [page, query] = body.url.split("?");
  expect(page).toBe(`${publicUrlOf(peer)}/t/acme/flows/${body.flow}`);
  expect(query).toMatch(/^open=[\w-]{32}$/);
  openings.set(body.flow, openingOf(body));
  return body.flow;
}

/** The opening secrets of the flows created whose page the browser has not visited yet. */
const openings = new Map<string, string>();

/**
 * The browser visits a flow's page: the first time at the URL the API gave (with its opening
 * secret), every later time at the flow's plain URL, as a browser sent back there does.
 */
function visit(
  flow: string,
  options: Parameters<Application["flows"]["show"]>[3] = {},
): Promise<FlowScreen> {
  const opening = openings.get(flow);
  openings.delete(flow);
  return t.app.flows.show(
    "acme",
    flow,
    browser,
    opening === undefined ? options : { ...options, opening },
  );
}

/** The browser picks the IdP on the flow page, signs in there as `signIn`, and comes back. */
async function viaIdp(
  flow: string,
  signIn: PeerSignIn,
  /** Runs between the IdP's answer and the browser's return to the flow page. */
  meanwhile?: () => Promise<void>,
  /** Runs once the flow's browser claimed the answer, before the flow page decides. */
  claimed?: () => Promise<void>,
): Promise<FlowScreen> {
  const challenge = await visit(flow);
  expect(challenge).toMatchObject({ kind: "challenge", options: [{ kind: "idp", idp: "corp" }] });
  if (challenge.kind !== "challenge") throw new Error("no challenge");
  peer.nextSignIn = signIn;
  syncClock(t);
  const toIdp = await t.app.flows.act("acme", flow, browser, {
    kind: "idp",
    idp: "corp",
    csrf: challenge.frame.csrfToken,
  });
  if (toIdp.kind !== "redirect") throw new Error(`not sent to the IdP: ${toIdp.kind}`);
  expect(toIdp.location.startsWith(peer.issuer)).toBe(true);
  lastAuthorization = new URL(toIdp.location);
  const callback = await t.call("GET", serverPath(peer, await atPeer(peer, toIdp.location)));
  expect(callback.statusCode, callback.body).toBe(303);
  const back = new URL(String(callback.headers.location));
  expect(`${back.origin}${back.pathname}`).toBe(`${publicUrlOf(peer)}/t/acme/flows/${flow}`);
  const notice = back.searchParams.get("notice");
  const answer = back.searchParams.get("answer");
  await meanwhile?.();
  const screen = await visit(
    flow,
    notice === "idp.rejected" || notice === "idp.mfa_unavailable"
      ? { notice }
      : answer === null
        ? {}
        : { answer },
  );
  // The browser claimed the answer and is sent on to the flow's plain URL.
  if (
    screen.kind !== "redirect" ||
    screen.location !== `${publicUrlOf(peer)}/t/acme/flows/${flow}`
  ) {
    return screen;
  }
  await claimed?.();
  return visit(flow);
}

async function exchange(screen: FlowScreen) {
  if (screen.kind !== "redirect") throw new Error(`not done: ${screen.kind}`);
  const back = new URL(screen.location);
  expect(`${back.origin}${back.pathname}`).toBe(RETURN_URL);
  expect(back.searchParams.get("state")).toBe("xyz");
  const response = await t.call("POST", "/v1/flows/exchange", {
    key: service,
    body: { code: back.searchParams.get("code") },
  });
  expect(response.statusCode, response.body).toBe(200);
  const { token } = response.json<{ token: string }>();
  const jwks = (await t.call("GET", "/.well-known/jwks.json")).json<JSONWebKeySet>();
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: publicUrlOf(peer),
    audience: await keyIdOf(service),
    currentDate: t.clock.now(),
  });
  return payload;
}

/** The authorization request the flow page last sent the browser to. */
let lastAuthorization: URL | undefined;

const keyIdOf = async (key: string) => (await t.app.authenticate(key)).id;

describe("a hosted flow through the tenant's OIDC IdP", () => {
  it("completes with MFA proven at the IdP, and the token says so", async () => {
    await acme();
    const payload = await exchange(await viaIdp(await createFlow(), MFA));
    expect(payload).toMatchObject({ sub: "carol", tenant: "acme", aal: 2, acr: REFEDS_MFA });
    // What the mapping credited (MFA), never a method in the IdP's words: those stay on the receipt.
    expect(payload["amr"]).toEqual(["mfa"]);
  });

  it("vouches for what the mapping credited, not for the IdP's amr: no hwk for MFA it did not hold phishing-resistant", async () => {
    // This tenant's mapping holds no amr value phishing-resistant; the IdP says its user used a
    // hardware key. tenant-mfa credited MFA only, and its token must not say more.
    await acme(undefined, undefined, { mapping: { phishingResistantAmr: [] } });
    const flow = await createFlow();
    const payload = await exchange(
      await viaIdp(flow, { accountId: "carol", acr: REFEDS_MFA, amr: ["pwd", "hwk", "mfa"] }),
    );
    expect(payload).toMatchObject({ aal: 2, phr: false, acr: REFEDS_MFA });
    expect(payload["amr"]).toEqual(["mfa"]);
    // The receipt keeps the IdP's own words, for whoever needs them.
    const receipt = (
      await t.call("GET", `/v1/decisions/${String(payload["decision"])}`, { key: admin })
    ).json<{ decision: { satisfiedBy: { events: { claims?: { amr?: unknown } }[] } } }>();
    expect(receipt.decision.satisfiedBy.events.map((e) => e.claims?.amr)).toEqual([
      ["pwd", "hwk", "mfa"],
    ]);
  });

  it("guides a sign-in without MFA to step up at the IdP, then completes", async () => {
    await acme();
    const flow = await createFlow();
    const again = await viaIdp(flow, { accountId: "carol", amr: ["pwd"] });
    expect(again).toMatchObject({
      kind: "challenge",
      options: [{ kind: "idp", idp: "corp" }],
      notice: { code: "idp.insufficient" },
    });
    expect((await exchange(await viaIdp(flow, MFA)))["aal"]).toBe(2);
  });

  it("refuses an IdP answer about someone else: the flow stays unproven", async () => {
    await acme();
    const flow = await createFlow();
    const screen = await viaIdp(flow, { ...MFA, accountId: "mallory" });
    expect(screen).toMatchObject({ kind: "challenge", notice: { code: "idp.rejected" } });
    const rejected = await auditOf(t, admin, "acme", "federation.rejected");
    expect(rejected.map((e) => e.payload["reason"])).toEqual(["federation.subject_mismatch"]);
    // A flow's principal is the platform's word (it created the flow), so it is the principal.
    expect(rejected.map((e) => e.payload["principal"])).toEqual(["carol"]);
    expect(await auditOf(t, admin, "acme", "flow.verified")).toEqual([]);
  });

  it("does not count an authentication older than the policy allows: the user signs in again", async () => {
    await acme({ maxAgeSeconds: 900 });
    const flow = await createFlow();
    const stale = await viaIdp(flow, { ...MFA, authTime: Math.floor(Date.now() / 1000) - 7200 });
    expect(stale.kind).toBe("challenge");
    expect(await auditOf(t, admin, "acme", "federation.rejected")).toHaveLength(1);
    expect((await exchange(await viaIdp(flow, MFA)))["sub"]).toBe("carol");
  });

  it("asks the IdP for what a step-up needs: a fresh authentication within its maximum age", async () => {
    await acme();
    await exchange(await viaIdp(await createFlow(), MFA));
    expect(lastAuthorization?.searchParams.get("prompt")).toBeNull();
    // The same browser, a sensitive action a little later: the session's sign-in is too old.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    syncClock(t);
    const flow = await createFlow({ maxAgeSeconds: 1 });
    const payload = await exchange(await viaIdp(flow, MFA));
    expect(lastAuthorization?.searchParams.get("max_age")).toBe("1");
    expect(lastAuthorization?.searchParams.get("prompt")).toBe("login");
    expect(payload["acr"]).toBe(REFEDS_MFA);
  });
});

/** Registers the IdP `corp` again (after a leak, say): a new version of its registration. */
async function registerAgain(ifMatch: string | undefined): Promise<void> {
  const replaced = await registerPeer(
    t,
    admin,
    "acme",
    peer,
    { request: { mfa: [] } },
    ifMatch === undefined ? {} : { ifMatch },
  );
  expect(replaced.statusCode, replaced.body).toBe(ifMatch === undefined ? 201 : 200);
}

const codeIn = (screen: FlowScreen): string | null =>
  screen.kind === "redirect" ? new URL(screen.location).searchParams.get("code") : null;

describe("an IdP answer held for a flow when the principal's proofs are withdrawn", () => {
  it("does not complete a flow with an answer held before the principal's recovery codes were revoked", async () => {
    await acme();
    await t.app.recoveryCodes.generate(await t.app.authenticate(service), "acme", "carol");
    const caller = await t.app.authenticate(admin);
    const flow = await createFlow();
    const screen = await viaIdp(flow, MFA, () =>
      t.app.recoveryCodes.revoke(caller, "acme", "carol"),
    );
    expect(codeIn(screen)).toBeNull();
    expect(screen).toMatchObject({ kind: "challenge", options: [{ kind: "idp", idp: "corp" }] });
    const [revoked] = await auditOf(t, admin, "acme", "recovery_code.revoked");
    expect(revoked?.payload).toMatchObject({ flowsReset: 1 });
    expect(await auditOf(t, admin, "acme", "flow.verified")).toEqual([]);
    // A sign-in at the IdP after the change counts.
    expect(codeIn(await viaIdp(flow, MFA))).not.toBeNull();
  });

  it("does not count an answer verified before the withdrawal and held on the flow after it", async () => {
    // A store that runs `afterVerified` once the transaction that used the answer's nonce (the
    // callback's verification) has committed, before the answer is held on the flow.
    const raw = await openStore("sqlite::memory:");
    let afterVerified: (() => Promise<void>) | undefined;
    const hooked: Store = {
      ...raw,
      transaction: async (work) => {
        let verified = false;
        const result = await raw.transaction((r) =>
          work(
            new Proxy(r, {
              get(target, key) {
                const value = target[key as keyof Repositories];
                if (key !== "oneTimeProofs") return value;
                const proofs = value as Repositories["oneTimeProofs"];
                return {
                  ...proofs,
                  claim: (...args: Parameters<typeof proofs.claim>) => {
                    verified = true;
                    return proofs.claim(...args);
                  },
                };
              },
            }),
          ),
        );
        const hook = afterVerified;
        if (verified && hook !== undefined) {
          afterVerified = undefined;
          await hook();
        }
        return result;
      },
      read: (work) => raw.read(work),
      notify: (change) => raw.notify(change),
      onChange: (listener) => raw.onChange(listener),
      ping: () => raw.ping(),
      close: () => raw.close(),
    };
    await acme(undefined, hooked);
    await t.app.recoveryCodes.generate(await t.app.authenticate(service), "acme", "carol");
    const caller = await t.app.authenticate(admin);
    const flow = await createFlow();
    afterVerified = async () => {
      await t.app.recoveryCodes.revoke(caller, "acme", "carol");
    };
    const screen = await viaIdp(flow, MFA);
    expect(afterVerified).toBeUndefined();
    const [revoked] = await auditOf(t, admin, "acme", "recovery_code.revoked");
    // The revocation found nothing held yet: the flow had only started its IdP leg.
    expect(revoked?.payload).toMatchObject({ flowsReset: 1 });
    // Held after the revocation, the answer still counts for nothing: the page asks again.
    expect(codeIn(screen)).toBeNull();
    expect(screen).toMatchObject({ kind: "challenge", options: [{ kind: "idp", idp: "corp" }] });
    expect(await auditOf(t, admin, "acme", "flow.verified")).toEqual([]);
    const dropped = await auditOf(t, admin, "acme", "flow.idp_answer_withdrawn");
    expect(dropped.map((e) => e.payload["idp"])).toEqual(["corp"]);
    // A sign-in at the IdP started after the change counts.
    expect(codeIn(await viaIdp(flow, MFA))).not.toBeNull();
  });
});

describe("an IdP answer held for a flow when its principal is bound to another IdP", () => {
  it("refuses the answer at the claim, audited as at the callback, once carol was bound to the tenant's other IdP", async () => {
    await acme();
    const flow = await createFlow();
    const screen = await viaIdp(flow, MFA, async () => {
      // While the answer waits, the tenant registers its partner's IdP (the same provider will
      // do: only the binding is read) and binds carol to it.
      expect(
        (await registerPeer(t, admin, "acme", peer, { request: { mfa: [] } }, { idp: "partner" }))
          .statusCode,
      ).toBe(201);
      const bound = await t.call("PUT", "/v1/tenants/acme/principals/carol", {
        key: admin,
        body: { population: "sso", idp: "partner" },
      });
      expect(bound.statusCode, bound.body).toBe(200);
    });
    // Sent where a refusal at the callback sends the flow's browser.
    expect(screen).toEqual({
      kind: "redirect",
      location: `${publicUrlOf(peer)}/t/acme/flows/${flow}?notice=idp.rejected`,
    });
    const refused = await auditOf(t, admin, "acme", "federation.rejected");
    expect(refused.map((e) => [e.actor, e.payload])).toEqual([
      [
        "idp:corp",
        {
          idp: "corp",
          protocol: "oidc",
          reason: "federation.idp_not_bound",
          detail: "the principal this IdP named signs in at another of the tenant's IdPs",
          request: expect.stringMatching(/^fed_/),
          principal: "carol",
          flow,
        },
      ],
    ]);
    expect(await auditOf(t, admin, "acme", "flow.verified")).toEqual([]);
    // The page says so, and offers the IdP carol is bound to.
    expect(await visit(flow, { notice: "idp.rejected" })).toMatchObject({
      kind: "challenge",
      notice: { code: "idp.rejected" },
      options: [{ kind: "idp", idp: "partner" }],
    });
  });
});

describe("an IdP answer in a flow, judged by the IdP's own maximum authentication age", () => {
  // The oldest authentication acme accepts from its IdP, whatever the policy (which sets no
  // maximum age), and the registration's default clock skew: two minutes each.
  const LIMIT_SECONDS = 120;
  const SKEW_SECONDS = 120;
  const limited = () => acme(undefined, undefined, { maxAuthenticationAgeSeconds: LIMIT_SECONDS });
  const wait = (seconds: number) => () => {
    t.clock.advance(seconds);
    return Promise.resolve();
  };

  it("does not complete a flow whose IdP authentication grew older than the IdP's limit while its answer was held", async () => {
    await limited();
    const flow = await createFlow();
    const screen = await viaIdp(flow, MFA, wait(LIMIT_SECONDS + SKEW_SECONDS + 60));
    expect(codeIn(screen)).toBeNull();
    expect(screen).toMatchObject({ kind: "challenge", options: [{ kind: "idp", idp: "corp" }] });
  });

  it("does not complete a flow with an IdP authentication that grew older than the IdP's limit once claimed", async () => {
    await limited();
    const flow = await createFlow();
    const screen = await viaIdp(flow, MFA, undefined, wait(LIMIT_SECONDS + SKEW_SECONDS + 60));
    expect(codeIn(screen)).toBeNull();
    expect(screen).toMatchObject({ kind: "challenge", options: [{ kind: "idp", idp: "corp" }] });
    const [verified] = await auditOf(t, admin, "acme", "flow.verified");
    expect(verified?.payload).toMatchObject({ method: "federated", idp: "corp" });
  });

  it("completes a flow whose IdP authentication is still within the IdP's limit and its skew", async () => {
    await limited();
    const flow = await createFlow();
    expect(
      codeIn(await viaIdp(flow, MFA, wait(LIMIT_SECONDS), wait(SKEW_SECONDS - 5))),
    ).not.toBeNull();
  });
});

describe("a browser's remembered IdP evidence once the tenant stops trusting the IdP", () => {
  /** A sign-in with MFA at the IdP completes a flow; a second flow reuses it without asking. */
  async function remembered(): Promise<void> {
    await acme();
    expect(codeIn(await viaIdp(await createFlow(), MFA))).not.toBeNull();
    t.clock.advance(30);
    expect(codeIn(await visit(await createFlow()))).not.toBeNull();
  }

  it("earns no new code once the IdP that produced it is removed (its keys leaked, say)", async () => {
    await remembered();
    const removed = await t.call("DELETE", "/v1/tenants/acme/idps/corp", { key: admin });
    expect(removed.statusCode, removed.body).toBe(204);
    const [event] = await auditOf(t, admin, "acme", "idp.removed");
    expect(event?.payload).toMatchObject({ idp: "corp", sessionsEnded: 1 });
    t.clock.advance(30);
    const next = await visit(await createFlow());
    expect(codeIn(next)).toBeNull();
    expect(next.kind).not.toBe("redirect");
  });

  it("does not complete a flow whose IdP answer arrived just before the IdP was removed", async () => {
    await acme();
    const flow = await createFlow();
    const screen = await viaIdp(flow, MFA, async () => {
      const removed = await t.call("DELETE", "/v1/tenants/acme/idps/corp", { key: admin });
      expect(removed.statusCode, removed.body).toBe(204);
    });
    expect(codeIn(screen)).toBeNull();
    expect(screen.kind).not.toBe("redirect");
  });

  it("does not complete a flow whose IdP answer arrived just before the IdP was registered again (its keys replaced)", async () => {
    await acme();
    const flow = await createFlow();
    const screen = await viaIdp(flow, MFA, () => registerAgain('"1"'));
    expect(codeIn(screen)).toBeNull();
    expect(screen).toMatchObject({ kind: "challenge", options: [{ kind: "idp", idp: "corp" }] });
    // An answer verified under the current registration completes it.
    expect(codeIn(await viaIdp(flow, MFA))).not.toBeNull();
  });

  it("does not count an IdP answer in a flow once its IdP was removed and registered anew under the same id", async () => {
    await acme();
    const flow = await createFlow();
    const screen = await viaIdp(flow, MFA, async () => {
      const removed = await t.call("DELETE", "/v1/tenants/acme/idps/corp", { key: admin });
      expect(removed.statusCode, removed.body).toBe(204);
      await registerAgain(undefined);
    });
    expect(codeIn(screen)).toBeNull();
    expect(screen.kind).not.toBe("redirect");
  });

  it("earns no new code once the IdP is registered again: the user signs in there anew", async () => {
    await remembered();
    const replaced = await t.call("PUT", "/v1/tenants/acme/idps/corp", {
      key: admin,
      headers: { "if-match": '"1"' },
      body: {
        protocol: "oidc",
        oidc: { issuer: peer.issuer, clientId: peer.idp.clientId, scopes: ["profile"] },
        request: { mfa: [] },
      },
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    const [event] = await auditOf(t, admin, "acme", "idp.updated");
    expect(event?.payload).toMatchObject({ idp: "corp", version: 2, sessionsEnded: 1 });
    t.clock.advance(30);
    const flow = await createFlow();
    expect(await visit(flow)).toMatchObject({
      kind: "challenge",
      options: [{ kind: "idp", idp: "corp" }],
    });
    expect(codeIn(await viaIdp(flow, MFA))).not.toBeNull();
  });
});

// The code a flow completed on an IdP sign-in is a token in waiting for a minute: removing the
// IdP, or registering it again (its keys leaked, say), within that minute must stop the token,
// as removing an authenticator withdraws the code of a flow it completed.
describe("a flow's code completed by an IdP sign-in, once the tenant stops trusting the IdP", () => {
  /** Completes a flow at the IdP, then does `change`; the exchange that follows, and its audit. */
  async function exchangeAfter(change: () => Promise<void>) {
    await acme();
    const code = codeIn(await viaIdp(await createFlow(), MFA));
    expect(code).not.toBeNull();
    await change();
    const response = await t.call("POST", "/v1/flows/exchange", {
      key: service,
      body: { code },
    });
    const refusals = await auditOf(t, admin, "acme", "flow.exchange_refused");
    return { response, refusals };
  }

  it("refuses the code once the IdP is removed", async () => {
    const { response, refusals } = await exchangeAfter(async () => {
      const removed = await t.call("DELETE", "/v1/tenants/acme/idps/corp", { key: admin });
      expect(removed.statusCode, removed.body).toBe(204);
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json()).toMatchObject({ code: "flow.code_invalid" });
    expect(refusals.map((e) => e.payload["reason"])).toEqual(["idp_replaced"]);
  });

  it("refuses the code once the IdP is registered again", async () => {
    const { response, refusals } = await exchangeAfter(() => registerAgain('"1"'));
    expect(response.statusCode, response.body).toBe(400);
    expect(refusals.map((e) => e.payload["reason"])).toEqual(["idp_replaced"]);
  });

  it("exchanges the code while the IdP's registration stands (another IdP changed meanwhile)", async () => {
    const { response } = await exchangeAfter(async () => {
      const other = await t.call("PUT", "/v1/tenants/acme/idps/other", {
        key: admin,
        body: {
          protocol: "oidc",
          oidc: {
            issuer: "https://other.idp.example",
            clientId: "c",
            clientSecret: "other-client-secret",
            scopes: ["profile"],
          },
          request: { mfa: [] },
        },
      });
      expect(other.statusCode, other.body).toBe(201);
    });
    expect(response.statusCode, response.body).toBe(200);
  });

  /** Registers the tenant's partner IdP (the same provider will do) and binds carol to `idp`. */
  const bindCarolTo = (idp: string) => async () => {
    expect(
      (await registerPeer(t, admin, "acme", peer, { request: { mfa: [] } }, { idp: "partner" }))
        .statusCode,
    ).toBe(201);
    const bound = await t.call("PUT", "/v1/tenants/acme/principals/carol", {
      key: admin,
      body: { population: "sso", idp },
    });
    expect(bound.statusCode, bound.body).toBe(200);
  };

  it("refuses the code once its principal is bound to the tenant's other IdP", async () => {
    const { response, refusals } = await exchangeAfter(bindCarolTo("partner"));
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json()).toMatchObject({ code: "flow.code_invalid" });
    expect(refusals.map((e) => e.payload["reason"])).toEqual(["idp_not_bound"]);
  });

  it("exchanges the code once its principal is bound to the IdP that signed it in", async () => {
    const { response, refusals } = await exchangeAfter(bindCarolTo("corp"));
    expect(response.statusCode, response.body).toBe(200);
    expect(refusals).toEqual([]);
  });
});
