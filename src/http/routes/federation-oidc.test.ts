/**
 * Threat: a sign-in through the tenant's OpenID Connect IdP is allowed without the IdP's signed
 * proof of MFA, counts for the wrong person or tenant, is replayed, or sends the browser
 * somewhere the tenant never registered. These tests run the whole flow through the HTTP server
 * against a real `oidc-provider`: `/start`, the IdP's login, the callback, the receipt, the audit.
 * (DESIGN invariants 1, 3, 4, 7, 9 and 10.)
 */
import type { LightMyRequestResponse } from "fastify";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FederationRequestStore, Repositories, Store } from "../../app/ports.js";
import { wrapRepositories } from "../../app/test-support/wrapped-store.js";
import { openStore } from "../../storage/open-store.js";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import {
  PASSWORD_PROTECTED,
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
  type PeerSignIn,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { browserCookie } from "../test-support/browser-cookie.js";
import {
  RETURN_URL,
  atPeer,
  auditOf,
  callback,
  callbackFor,
  createTenant,
  openFederationServer,
  publicUrlOf,
  registerPeer,
  serverPath,
  startSignIn,
  syncClock,
} from "../test-support/oidc-federation.js";

let peer: OidcProviderPeer;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
});
afterAll(() => peer.close());

/** The server of the running test, closed after it. */
let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The browser every sign-in here is started and completed in (its cookie). */
const BROWSER = browserCookie("B");
const MFA: PeerSignIn = { accountId: "alice", acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
const PASSWORD_ONLY: PeerSignIn = { accountId: "alice", amr: ["pwd"] };
/** The tenant asks this IdP for no context: it answers with whatever the user did. */
const ASKS_NOTHING = { request: { mfa: [] } };
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

interface Acme {
  readonly t: TestServer;
  /** acme's tenant administrator. */
  readonly admin: string;
  /** acme's auditor: reads receipts and the audit chain. */
  readonly auditor: string;
}

/** A fresh server with tenant `acme` at `posture`, the peer registered as its IdP `corp`. */
async function acmeWithPeer(
  posture: "idp_mfa" | "idp_or_platform",
  options: {
    registration?: Record<string, unknown>;
    require?: { maxAgeSeconds?: number };
    logger?: pino.Logger;
  } = {},
): Promise<Acme> {
  const server = await openFederationServer(peer, {
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  t = server;
  await createTenant(server, "acme", posture, options.require);
  const admin = await server.key(["tenant_admin"], ["acme"]);
  const auditor = await server.key(["tenant_auditor"], ["acme"]);
  const registered = await registerPeer(server, admin, "acme", peer, options.registration);
  expect(registered.statusCode).toBe(201);
  return { t: server, admin, auditor };
}

/** One sign-in as `signIn` at the peer, completed at the server. */
async function signInAs(
  acme: Acme,
  signIn: PeerSignIn,
  query: { principal?: string; force?: boolean } = {},
): Promise<{ response: LightMyRequestResponse; authorization: URL; path: string }> {
  peer.nextSignIn = signIn;
  syncClock(acme.t);
  const { path, authorization } = await callbackFor(acme.t, peer, { ...query, cookie: BROWSER });
  const response = await callback(acme.t, path, BROWSER);
  return { response, authorization, path };
}

/** The decision id the browser was sent back with, after checking where it was sent. */
function decisionOf(response: LightMyRequestResponse): string {
  expect(response.statusCode).toBe(303);
  const location = new URL(String(response.headers.location));
  expect(`${location.origin}${location.pathname}`).toBe(RETURN_URL);
  expect([...location.searchParams.keys()]).toEqual(["decision"]);
  const id = location.searchParams.get("decision") ?? "";
  expect(id).toMatch(/^dec_/);
  return id;
}

interface Receipt {
  readonly id: string;
  readonly tenant: string;
  readonly principal: string;
  readonly outcome: string;
  readonly decision: {
    readonly outcome: string;
    readonly reasons: readonly { code: string }[];
    readonly challenge: readonly Record<string, unknown>[];
    readonly satisfiedBy: { aal: number; events: readonly Record<string, unknown>[] } | null;
  };
  readonly inputSummary: { events: readonly Record<string, unknown>[] };
}

async function receipt(acme: Acme, id: string): Promise<Receipt> {
  const response = await acme.t.call("GET", `/v1/decisions/${id}`, { key: acme.auditor });
  expect(response.statusCode).toBe(200);
  return response.json<Receipt>();
}

const problemOf = (response: LightMyRequestResponse) => ({
  status: response.statusCode,
  type: response.headers["content-type"],
  code: response.json<{ code: string }>().code,
});

/** The value of a Prometheus counter sample in GET /metrics, 0 when absent. */
async function counter(acme: Acme, sample: string): Promise<number> {
  const response = await acme.t.call("GET", "/metrics");
  expect(response.statusCode).toBe(200);
  const line = response.body.split("\n").find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

const types = (events: readonly { type: string }[]): string[] => events.map((e) => e.type);
/** The audit events a sign-in attempt added, by type. */
const federationTypes = async (acme: Acme): Promise<string[]> =>
  types(await auditOf(acme.t, acme.auditor, "acme")).filter(
    (type) => !["tenant.created", "policy.replaced", "idp.registered"].includes(type),
  );

describe("a sign-in that proves MFA at the IdP", () => {
  it("asks the IdP for REFEDS MFA (an essential acr claim, no acr_values), max_age, PKCE S256, state and nonce", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const first = await startSignIn(acme.t, "acme", { principal: "alice" });
    const second = await startSignIn(acme.t, "acme", { principal: "alice" });
    expect(first.statusCode).toBe(303);
    const url = new URL(String(first.headers.location));
    const again = new URL(String(second.headers.location));
    expect(`${url.origin}${url.pathname}`).toBe(`${peer.issuer}/auth`);
    const q = url.searchParams;
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe(peer.idp.clientId);
    expect(q.get("redirect_uri")).toBe(`${publicUrlOf(peer)}/t/acme/idps/corp/oidc/callback`);
    expect(q.get("scope")).toBe("openid profile");
    // The peer's discovery says claims_parameter_supported: acr_values would make it voluntary.
    expect(q.has("acr_values")).toBe(false);
    expect(JSON.parse(q.get("claims") ?? "null")).toEqual({
      id_token: { acr: { essential: true, values: [REFEDS_MFA] } },
    });
    expect(q.get("max_age")).toBe("86400");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")).toMatch(/^fed_/);
    expect(q.get("nonce")).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(q.get("login_hint")).toBe("alice");
    expect(q.has("prompt")).toBe(false);
    // Each sign-in has its own state, nonce and PKCE challenge.
    for (const name of ["state", "nonce", "code_challenge"]) {
      expect(again.searchParams.get(name)).not.toBe(q.get(name));
    }
    // Nothing is decided or audited before the IdP answers.
    expect(await federationTypes(acme)).toEqual([]);
  });

  it("allows a REFEDS MFA sign-in under idp_mfa: federated evidence at AAL2, the IdP's claims in the receipt", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const { response } = await signInAs(acme, MFA, { principal: "alice" });
    const id = decisionOf(response);
    const r = await receipt(acme, id);
    expect(r).toMatchObject({ id, tenant: "acme", principal: "alice", outcome: "allow" });
    expect(r.decision.reasons.map((x) => x.code)).toEqual(["requirement.met"]);
    expect(r.decision.challenge).toEqual([]);
    expect(r.decision.satisfiedBy?.aal).toBe(2);
    expect(r.decision.satisfiedBy?.events).toMatchObject([
      { method: "federated", source: "idp", tenant: "acme", idp: "corp" },
    ]);
    const [event] = r.inputSummary.events;
    expect(event).toMatchObject({
      method: "federated",
      source: "idp",
      idp: "corp",
      assurance: { aal: 2, phishingResistant: false },
      claims: {
        iss: peer.issuer,
        sub: "alice",
        aud: peer.idp.clientId,
        acr: REFEDS_MFA,
        amr: ["pwd", "mfa"],
        recognised: [REFEDS_MFA],
        unmapped: [],
      },
    });
    // The evidence is dated by the IdP's auth_time, not by when the callback arrived.
    const claims = event?.["claims"] as { auth_time: number };
    expect(event?.["at"]).toBe(new Date(claims.auth_time * 1000).toISOString());

    const decided = await auditOf(acme.t, acme.auditor, "acme", "decision.recorded");
    expect(decided).toMatchObject([
      {
        actor: "idp:corp",
        payload: {
          decision: id,
          principal: "alice",
          outcome: "allow",
          reasons: ["requirement.met"],
        },
      },
    ]);
    expect(await federationTypes(acme)).toEqual(["decision.recorded"]);
  });

  it("allows amr [pwd, mfa] from an IdP asked for no context, and keeps the amr as the IdP sent it", async () => {
    const acme = await acmeWithPeer("idp_mfa", { registration: ASKS_NOTHING });
    const { response, authorization } = await signInAs(acme, {
      accountId: "alice",
      amr: ["pwd", "mfa"],
    });
    expect(authorization.searchParams.has("acr_values")).toBe(false);
    expect(authorization.searchParams.has("claims")).toBe(false);
    const r = await receipt(acme, decisionOf(response));
    expect(r.outcome).toBe("allow");
    expect(r.inputSummary.events).toMatchObject([
      {
        assurance: { aal: 2, phishingResistant: false },
        claims: { sub: "alice", amr: ["pwd", "mfa"], recognised: ["mfa"], unmapped: [] },
      },
    ]);
  });
});

describe("a sign-in that proves only a password", () => {
  it("is challenged under idp_mfa with a forced step-up at the IdP only, never allowed", async () => {
    const acme = await acmeWithPeer("idp_mfa", { registration: ASKS_NOTHING });
    const { response } = await signInAs(acme, PASSWORD_ONLY, { principal: "alice" });
    const r = await receipt(acme, decisionOf(response));
    expect(r.outcome).toBe("challenge");
    expect(r.decision.reasons.map((x) => x.code)).toEqual(["requirement.unmet.aal"]);
    expect(r.decision.satisfiedBy).toBeNull();
    expect(r.decision.challenge).toEqual([
      {
        kind: "idp_step_up",
        idp: "corp",
        acrValues: [],
        authnContextClassRefs: [],
        maxAgeSeconds: 86400,
        forceAuthn: true,
        phishingResistant: false,
      },
    ]);
    expect(r.inputSummary.events).toMatchObject([
      { assurance: { aal: 1, phishingResistant: false }, claims: { amr: ["pwd"] } },
    ]);
    expect(await auditOf(acme.t, acme.auditor, "acme", "decision.recorded")).toMatchObject([
      { payload: { outcome: "challenge", reasons: ["requirement.unmet.aal"] } },
    ]);
  });

  it("under idp_or_platform also offers platform MFA (enrol), after the IdP step-up", async () => {
    const acme = await acmeWithPeer("idp_or_platform", { registration: ASKS_NOTHING });
    const { response } = await signInAs(acme, PASSWORD_ONLY, { principal: "alice" });
    const r = await receipt(acme, decisionOf(response));
    expect(r.outcome).toBe("challenge");
    expect(r.decision.reasons.map((x) => x.code)).toEqual(["requirement.unmet.aal"]);
    const kinds = r.decision.challenge.map((o) => o["kind"]);
    expect(kinds[0]).toBe("idp_step_up");
    expect(r.decision.challenge[0]).toMatchObject({ idp: "corp", forceAuthn: true });
    expect(r.decision.challenge.slice(1)).toEqual([
      { kind: "enroll", method: "webauthn", userVerification: "preferred", deviceBound: false },
      { kind: "enroll", method: "totp", userVerification: "preferred", deviceBound: false },
    ]);
  });

  it("the step-up it asks for is sent to the IdP as prompt=login", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const forced = await startSignIn(acme.t, "acme", { principal: "alice", force: true });
    expect(forced.statusCode).toBe(303);
    const q = new URL(String(forced.headers.location)).searchParams;
    expect(q.get("prompt")).toBe("login");
    expect(JSON.parse(q.get("claims") ?? "null")).toEqual({
      id_token: { acr: { essential: true, values: [REFEDS_MFA] } },
    });
  });
});

describe("one-time use of a callback", () => {
  it("refuses the same callback URL a second time, audits it, and records one decision only", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const { response, path } = await signInAs(acme, MFA, { principal: "alice" });
    const id = decisionOf(response);

    const replay = await callback(acme.t, path, BROWSER, { accept: "application/json" });
    expect(problemOf(replay)).toEqual({
      status: 400,
      type: "application/problem+json; charset=utf-8",
      code: "federation.request_unknown",
    });
    expect(replay.headers.location).toBeUndefined();
    const rejected = await auditOf(acme.t, acme.auditor, "acme", "federation.rejected");
    expect(rejected).toMatchObject([
      {
        actor: "idp:corp",
        payload: { idp: "corp", protocol: "oidc", reason: "federation.request_unknown" },
      },
    ]);
    expect(await federationTypes(acme)).toEqual(["decision.recorded", "federation.rejected"]);
    const verified = await acme.t.call("GET", "/v1/audit/verify?tenant=acme", {
      key: acme.auditor,
    });
    expect(verified.json()).toMatchObject({ ok: true, chains: 1 });
    expect(
      (await auditOf(acme.t, acme.auditor, "acme", "decision.recorded")).map(
        (e) => e.payload["decision"],
      ),
    ).toEqual([id]);
  });
  it("completes once when the same callback arrives twice at the same time", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { principal: "alice", cookie: BROWSER });
    const answers = await Promise.all([
      callback(acme.t, path, BROWSER),
      callback(acme.t, path, BROWSER),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([303, 400]);
    const decided = await auditOf(acme.t, acme.auditor, "acme", "decision.recorded");
    expect(decided).toHaveLength(1);
    expect(decided[0]?.payload["outcome"]).toBe("allow");
    expect(await auditOf(acme.t, acme.auditor, "acme", "federation.rejected")).toHaveLength(1);
  });
});

/**
 * A store whose remembered sign-ins get the nonce in `forcedNonce.value`, when set, instead of
 * their own: the one way two distinct sign-ins can expect the same nonce, so that an ID token
 * reaches the one-time proof check through a sign-in that was never used.
 */
function forcingNonce(store: Store, forcedNonce: { value?: string }): Store {
  const requests = (r: Repositories): FederationRequestStore => ({
    ...r.federationRequests,
    insert: (record) =>
      r.federationRequests.insert(
        forcedNonce.value === undefined ? record : { ...record, nonce: forcedNonce.value },
      ),
  });
  return wrapRepositories(
    store,
    (r) =>
      new Proxy(r, {
        get: (target, name) =>
          name === "federationRequests" ? requests(target) : (Reflect.get(target, name) as unknown),
      }),
  );
}

describe("one-time use of a nonce", () => {
  it("refuses a valid ID token whose nonce was used, arriving through a second, unused sign-in (federation.replayed)", async () => {
    const forcedNonce: { value?: string } = {};
    const server = await openTestServer({
      store: forcingNonce(await openStore("sqlite::memory:"), forcedNonce),
      federation: { oidc: createOidcProtocol({ allowHttp: true }), publicUrl: publicUrlOf(peer) },
    });
    t = server;
    syncClock(server);
    await createTenant(server, "acme", "idp_mfa");
    const auditor = await server.key(["tenant_auditor"], ["acme"]);
    expect((await registerPeer(server, server.adminKey, "acme", peer)).statusCode).toBe(201);
    const acme = { t: server, admin: server.adminKey, auditor };
    peer.nextSignIn = MFA;

    const first = new URL(
      String((await startSignIn(server, "acme", { cookie: BROWSER })).headers.location),
    );
    const nonce = first.searchParams.get("nonce") ?? "";
    expect(nonce).not.toBe("");
    // The second sign-in is remembered with the first one's nonce, and the browser asks the IdP
    // for that nonce: its ID token will carry it, and the verifier will find it the expected one.
    forcedNonce.value = nonce;
    const second = new URL(
      String((await startSignIn(server, "acme", { cookie: BROWSER })).headers.location),
    );
    delete forcedNonce.value;
    const secondState = second.searchParams.get("state") ?? "";
    expect(secondState).not.toBe(first.searchParams.get("state"));
    second.searchParams.set("nonce", nonce);

    const firstDone = await callback(
      server,
      serverPath(peer, await atPeer(peer, first.href)),
      BROWSER,
    );
    const id = decisionOf(firstDone);
    const replay = await callback(
      server,
      serverPath(peer, await atPeer(peer, second.href)),
      BROWSER,
      {
        accept: "application/json",
      },
    );
    // Were the nonce not a one-time proof, this would be a second sign-in, and allowed.
    expect(replay.statusCode, String(replay.headers.location)).toBe(400);
    expect(problemOf(replay)).toEqual({
      status: 400,
      type: "application/problem+json; charset=utf-8",
      code: "federation.rejected",
    });
    expect(replay.json<{ details?: Record<string, unknown> }>().details).toMatchObject({
      reason: "federation.replayed",
      returnTo: RETURN_URL,
    });
    expect(replay.headers.location).toBeUndefined();
    expect(await auditOf(server, auditor, "acme", "federation.rejected")).toMatchObject([
      {
        actor: "idp:corp",
        payload: {
          idp: "corp",
          protocol: "oidc",
          reason: "federation.replayed",
          request: secondState,
        },
      },
    ]);
    expect(
      (await auditOf(server, auditor, "acme", "decision.recorded")).map(
        (e) => e.payload["decision"],
      ),
    ).toEqual([id]);
    expect(await federationTypes(acme)).toEqual(["decision.recorded", "federation.rejected"]);
  });
});

describe("who signed in is what the ID token says", () => {
  it("refuses an IdP answer about alice for a sign-in started for bob, with an explanation page", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const { response, authorization } = await signInAs(acme, MFA, { principal: "bob" });
    // The hint went to the IdP, which signed in someone else.
    expect(authorization.searchParams.get("login_hint")).toBe("bob");
    expect(response.statusCode).toBe(403);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers.location).toBeUndefined();
    expect(response.body).toContain("<code>federation.subject_mismatch</code>");
    expect(response.body).not.toContain("decision=");
    expect(await federationTypes(acme)).toEqual(["federation.rejected"]);
    expect(await auditOf(acme.t, acme.auditor, "acme", "federation.rejected")).toMatchObject([
      {
        actor: "idp:corp",
        payload: { reason: "federation.subject_mismatch", principalHint: "bob", idp: "corp" },
      },
    ]);
    // Anyone may start a sign-in naming bob: the hint is recorded as such, never as the principal.
    const [rejected] = await auditOf(acme.t, acme.auditor, "acme", "federation.rejected");
    expect(rejected?.payload["principal"]).toBeUndefined();
  });

  it("records an unauthenticated start's principal hint as principalHint, not as the refused principal", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const { response } = await signInAs(
      acme,
      { error: "access_denied" },
      { principal: "ceo@acme.example" },
    );
    expect(response.statusCode).toBe(400);
    const [rejected] = await auditOf(acme.t, acme.auditor, "acme", "federation.rejected");
    expect(rejected?.payload).toMatchObject({
      reason: "oidc.error_response",
      principalHint: "ceo@acme.example",
    });
    expect(rejected?.payload["principal"]).toBeUndefined();
  });

  it("answers a JSON client with problem+json federation.subject_mismatch, and decides nothing", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { principal: "bob", cookie: BROWSER });
    const response = await callback(acme.t, path, BROWSER, { accept: "application/json" });
    expect(problemOf(response)).toEqual({
      status: 403,
      type: "application/problem+json; charset=utf-8",
      code: "federation.subject_mismatch",
    });
    expect(response.json<{ details?: Record<string, unknown> }>().details).toMatchObject({
      reason: "federation.subject_mismatch",
      returnTo: RETURN_URL,
    });
    expect(await auditOf(acme.t, acme.auditor, "acme", "decision.recorded")).toEqual([]);
  });

  it("without a hint, the receipt names the subject of the verified ID token", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const { response } = await signInAs(acme, { ...MFA, accountId: "carol" });
    const r = await receipt(acme, decisionOf(response));
    expect(r).toMatchObject({ principal: "carol", outcome: "allow" });
  });
});

describe("return_to is a URL the tenant registered", () => {
  const foreign = [
    "https://evil.example/signed-in",
    "//evil.example/signed-in",
    "https://app.acme.example@evil.example/signed-in",
    "https://app.acme.example:x@evil.example/signed-in",
    "https://evil.example\\@app.acme.example/signed-in",
    "https://app.acme.example/signed-in-elsewhere",
    "http://app.acme.example/signed-in",
    "javascript:alert(1)//app.acme.example/signed-in",
  ];
  it.each(foreign)(
    "refuses %s with 400 federation.return_to_not_allowed and no redirect",
    async (returnTo) => {
      const acme = await acmeWithPeer("idp_mfa");
      const page = await startSignIn(acme.t, "acme", { returnTo, principal: "alice" });
      expect(page.statusCode).toBe(400);
      expect(page.headers.location).toBeUndefined();
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(page.body).toContain("<code>federation.return_to_not_allowed</code>");
      expect(page.body).not.toContain("href=");
      const json = await acme.t.call(
        "GET",
        `/t/acme/idps/corp/start?return_to=${encodeURIComponent(returnTo)}`,
        { headers: { accept: "application/json" } },
      );
      expect(problemOf(json)).toEqual({
        status: 400,
        type: "application/problem+json; charset=utf-8",
        code: "federation.return_to_not_allowed",
      });
      expect(json.headers.location).toBeUndefined();
    },
  );

  it("audits a start refused for its return_to, without the URL asked for", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const returnTo = "https://evil.example/signed-in";
    const json = { headers: { accept: "application/json" } };
    const path = `/t/acme/idps/corp/start?return_to=${encodeURIComponent(returnTo)}`;
    expect((await acme.t.call("GET", path, json)).statusCode).toBe(400);
    const refused = await auditOf(acme.t, acme.auditor, "acme", "federation.rejected");
    expect(refused.map((e) => e.payload)).toEqual([
      {
        idp: "corp",
        protocol: "oidc",
        reason: "federation.return_to_not_allowed",
        detail: "the return URL is not registered for the tenant",
      },
    ]);
    expect(JSON.stringify(refused)).not.toContain("evil.example");
    // The IdP was never asked.
    expect(await auditOf(acme.t, acme.auditor, "acme", "decision.recorded")).toEqual([]);
  });

  it("does not return to a URL the tenant removed while the sign-in was at the IdP", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { principal: "alice", cookie: BROWSER });
    const replaced = await acme.t.call("PUT", "/v1/tenants/acme/return-urls", {
      key: acme.admin,
      body: { returnUrls: ["https://new.acme.example/signed-in"] },
    });
    expect(replaced.statusCode).toBe(200);
    const response = await callback(acme.t, path, BROWSER, { accept: "application/json" });
    expect(problemOf(response)).toEqual({
      status: 400,
      type: "application/problem+json; charset=utf-8",
      code: "federation.return_to_not_allowed",
    });
    expect(response.headers.location).toBeUndefined();
    expect(JSON.stringify(response.json())).not.toContain("app.acme.example");
  });

  it("accepts a path below the registered one and returns there with the decision", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const started = await startSignIn(acme.t, "acme", {
      returnTo: `${RETURN_URL}/deep/page`,
      cookie: BROWSER,
    });
    expect(started.statusCode).toBe(303);
    const callbackUrl = await atPeer(peer, String(started.headers.location));
    const done = await callback(acme.t, serverPath(peer, callbackUrl), BROWSER);
    expect(done.statusCode).toBe(303);
    expect(String(done.headers.location)).toMatch(
      /^https:\/\/app\.acme\.example\/signed-in\/deep\/page\?decision=dec_\d+$/,
    );
  });
});

describe("a callback that belongs to no sign-in", () => {
  const forged = [
    ["an unknown state", "?code=forged-code&state=fed_999999"],
    ["no state", "?code=forged-code"],
    ["an error without state", "?error=access_denied"],
  ] as const;
  it.each(forged)("refuses %s with federation.request_unknown, audited", async (_name, query) => {
    const acme = await acmeWithPeer("idp_mfa");
    const response = await acme.t.call("GET", `/t/acme/idps/corp/oidc/callback${query}`, {
      headers: { accept: "application/json" },
    });
    expect(problemOf(response)).toEqual({
      status: 400,
      type: "application/problem+json; charset=utf-8",
      code: "federation.request_unknown",
    });
    expect(response.headers.location).toBeUndefined();
    const [event, ...more] = await auditOf(acme.t, acme.auditor, "acme", "federation.rejected");
    expect(more).toEqual([]);
    expect(event?.payload).toEqual({
      idp: "corp",
      protocol: "oidc",
      reason: "federation.request_unknown",
      detail: "no pending sign-in matches the answer",
    });
    expect(await federationTypes(acme)).toEqual(["federation.rejected"]);
  });

  it("refuses a state given twice, even when it names a pending sign-in", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { cookie: BROWSER });
    const state = new URLSearchParams(path.slice(path.indexOf("?"))).get("state") ?? "";
    const doubled = await acme.t.call("GET", `${path}&state=${state}`, {
      headers: { accept: "application/json" },
    });
    expect(problemOf(doubled).code).toBe("federation.request_unknown");
    expect(await federationTypes(acme)).toEqual(["federation.rejected"]);
  });

  it("refuses a callback that arrives after the sign-in's time to live (10 min)", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { cookie: BROWSER });
    acme.t.clock.advance(601);
    const late = await callback(acme.t, path, BROWSER, { accept: "application/json" });
    expect(problemOf(late)).toEqual({
      status: 400,
      type: "application/problem+json; charset=utf-8",
      code: "federation.request_unknown",
    });
    expect(await federationTypes(acme)).toEqual(["federation.rejected"]);
  });

  it("refuses an authorization response naming another issuer (RFC 9207 mix-up), audited", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { cookie: BROWSER });
    const mixed = path.replace(
      `iss=${encodeURIComponent(peer.issuer)}`,
      `iss=${encodeURIComponent("https://other-idp.example")}`,
    );
    expect(mixed).not.toBe(path);
    const response = await callback(acme.t, mixed, BROWSER, { accept: "application/json" });
    expect(problemOf(response)).toEqual({
      status: 400,
      type: "application/problem+json; charset=utf-8",
      code: "federation.rejected",
    });
    expect(await auditOf(acme.t, acme.auditor, "acme", "federation.rejected")).toMatchObject([
      { payload: { reason: "oidc.issuer_mismatch" } },
    ]);
    expect(await auditOf(acme.t, acme.auditor, "acme", "decision.recorded")).toEqual([]);
  });

  it("answers 404 and decides nothing when the IdP was removed after the sign-in started", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { cookie: BROWSER });
    const removed = await acme.t.call("DELETE", "/v1/tenants/acme/idps/corp", { key: acme.admin });
    expect(removed.statusCode).toBe(204);
    const response = await callback(acme.t, path, BROWSER, { accept: "application/json" });
    expect(problemOf(response)).toEqual({
      status: 404,
      type: "application/problem+json; charset=utf-8",
      code: "not_found",
    });
    expect(await federationTypes(acme)).toEqual(["idp.removed"]);
  });

  it("refuses another sign-in's code under this sign-in's state (PKCE binds the code), audited", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    // The victim's sign-in is started; the attacker completes one of their own at the IdP
    // and splices its code into the victim's callback.
    const victim = new URL(
      String((await startSignIn(acme.t, "acme", { cookie: BROWSER })).headers.location),
    );
    const attacker = new URL(
      await atPeer(
        peer,
        String(
          (await startSignIn(acme.t, "acme", { cookie: browserCookie("A") })).headers.location,
        ),
      ),
    );
    const spliced = new URLSearchParams({
      code: attacker.searchParams.get("code") ?? "",
      state: victim.searchParams.get("state") ?? "",
      iss: peer.issuer,
    });
    // Presented in the victim's browser, the one the victim's state is bound to.
    const response = await callback(
      acme.t,
      `/t/acme/idps/corp/oidc/callback?${spliced.toString()}`,
      BROWSER,
      { accept: "application/json" },
    );
    expect(problemOf(response)).toEqual({
      status: 400,
      type: "application/problem+json; charset=utf-8",
      code: "federation.rejected",
    });
    expect(response.json<{ details?: Record<string, unknown> }>().details).toMatchObject({
      reason: "oidc.token_request_failed",
    });
    expect(await federationTypes(acme)).toEqual(["federation.rejected"]);
    expect(await auditOf(acme.t, acme.auditor, "acme", "federation.rejected")).toMatchObject([
      {
        payload: { reason: "oidc.token_request_failed", request: victim.searchParams.get("state") },
      },
    ]);
  });
});

describe("an IdP that cannot do the MFA asked for", () => {
  it("sends the user back with error=idp_mfa_unavailable, audited as federation.mfa_unavailable, never allowed", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const { response } = await signInAs(
      acme,
      { accountId: "alice", acr: PASSWORD_PROTECTED, amr: ["pwd"] },
      { principal: "alice" },
    );
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe(`${RETURN_URL}?error=idp_mfa_unavailable`);
    expect(await federationTypes(acme)).toEqual(["federation.mfa_unavailable"]);
    const [event] = await auditOf(acme.t, acme.auditor, "acme", "federation.mfa_unavailable");
    expect(event).toMatchObject({
      actor: "idp:corp",
      payload: {
        idp: "corp",
        protocol: "oidc",
        reason: "oidc.unmet_authentication_requirements",
        principalHint: "alice",
      },
    });
    expect(event?.payload["principal"]).toBeUndefined();
  });

  it("refuses any other IdP error (access_denied) with federation.rejected and a link back", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    const { response } = await signInAs(acme, { error: "access_denied" });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain("<code>federation.rejected</code>");
    expect(response.body).toContain(`<a href="${RETURN_URL}">`);
    expect(await auditOf(acme.t, acme.auditor, "acme", "federation.rejected")).toMatchObject([
      { payload: { reason: "oidc.error_response" } },
    ]);
    expect(await federationTypes(acme)).toEqual(["federation.rejected"]);
  });
});

describe("drift: an IdP that stops proving what it proved", () => {
  it("records idp.drift mfa_missing once when an IdP that proved MFA answers with a password only", async () => {
    const acme = await acmeWithPeer("idp_mfa", { registration: ASKS_NOTHING });
    const proved = await signInAs(acme, { accountId: "alice", amr: ["pwd", "mfa"] });
    expect((await receipt(acme, decisionOf(proved.response))).outcome).toBe("allow");
    expect(await auditOf(acme.t, acme.auditor, "acme", "idp.drift")).toEqual([]);

    const dropped = await signInAs(acme, PASSWORD_ONLY);
    expect((await receipt(acme, decisionOf(dropped.response))).outcome).toBe("challenge");
    const again = await signInAs(acme, PASSWORD_ONLY);
    expect((await receipt(acme, decisionOf(again.response))).outcome).toBe("challenge");

    const drifts = await auditOf(acme.t, acme.auditor, "acme", "idp.drift");
    expect(drifts).toHaveLength(1);
    expect(drifts[0]).toMatchObject({
      actor: "idp:corp",
      payload: { idp: "corp", kind: "mfa_missing" },
    });
    expect(drifts[0]?.payload["since"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await counter(acme, 'tenant_mfa_idp_drift_total{kind="mfa_missing"}')).toBe(1);
  });

  it("records idp.drift unmapped_value once for an acr the mapping does not know, and proves nothing by it", async () => {
    const acme = await acmeWithPeer("idp_mfa", { registration: ASKS_NOTHING });
    const gold = "urn:example:acr:gold";
    for (let i = 0; i < 2; i += 1) {
      const { response } = await signInAs(acme, { accountId: "alice", acr: gold });
      const r = await receipt(acme, decisionOf(response));
      expect(r.outcome).toBe("challenge");
      expect(r.inputSummary.events).toMatchObject([
        { assurance: { aal: 0 }, claims: { acr: gold, recognised: [], unmapped: [gold] } },
      ]);
    }
    const drifts = await auditOf(acme.t, acme.auditor, "acme", "idp.drift");
    expect(drifts.map((e) => e.payload)).toEqual([
      { idp: "corp", kind: "unmapped_value", values: [gold] },
    ]);
    expect(await counter(acme, 'tenant_mfa_idp_drift_total{kind="unmapped_value"}')).toBe(1);
  });
});

describe("evidence is bound to the tenant whose IdP produced it", () => {
  it("refuses at globex's callback a sign-in begun for acme, even with the same IdP registered", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    await createTenant(acme.t, "globex", "idp_mfa");
    const globexAuditor = await acme.t.key(["tenant_auditor"], ["globex"]);
    expect((await registerPeer(acme.t, acme.t.adminKey, "globex", peer)).statusCode).toBe(201);

    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { principal: "alice", cookie: BROWSER });
    const atGlobex = path.replace("/t/acme/", "/t/globex/");
    expect(atGlobex).toMatch(/^\/t\/globex\/idps\/corp\/oidc\/callback\?/);
    const refused = await callback(acme.t, atGlobex, BROWSER, { accept: "application/json" });
    expect(problemOf(refused)).toEqual({
      status: 400,
      type: "application/problem+json; charset=utf-8",
      code: "federation.request_unknown",
    });
    expect(types(await auditOf(acme.t, globexAuditor, "globex"))).toEqual([
      "tenant.created",
      "policy.replaced",
      "idp.registered",
      "federation.rejected",
    ]);
    expect(await auditOf(acme.t, globexAuditor, "globex", "federation.rejected")).toMatchObject([
      { payload: { reason: "federation.request_unknown" } },
    ]);
    // Nothing was decided for either tenant by the attempt; acme's own sign-in still completes.
    expect(await federationTypes(acme)).toEqual([]);
    const done = await callback(acme.t, path, BROWSER);
    const r = await receipt(acme, decisionOf(done));
    expect(r).toMatchObject({ tenant: "acme", outcome: "allow" });
    expect(await auditOf(acme.t, globexAuditor, "globex", "decision.recorded")).toEqual([]);
    // And globex's auditor cannot read acme's receipt.
    const foreign = await acme.t.call("GET", `/v1/decisions/${r.id}`, { key: globexAuditor });
    expect(foreign.statusCode).toBe(404);
  });
});

describe("the client secret stays secret", () => {
  it("never appears in an API response, an audit event or a log line; the IdP shows clientSecretSet", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "trace" }, { write: (line: string) => lines.push(line) });
    const acme = await acmeWithPeer("idp_or_platform", { logger });
    const secret = peer.idp.clientSecret;
    const forms = [
      secret,
      encodeURIComponent(secret),
      Buffer.from(secret).toString("base64"),
      Buffer.from(`${peer.idp.clientId}:${secret}`).toString("base64"),
      Buffer.from(
        `${encodeURIComponent(peer.idp.clientId)}:${encodeURIComponent(secret)}`,
      ).toString("base64"),
      "s3cret",
    ];
    const responses: LightMyRequestResponse[] = [];
    const call = async (...args: Parameters<TestServer["call"]>) => {
      const response = await acme.t.call(...args);
      responses.push(response);
      return response;
    };

    const shown = await call("GET", "/v1/tenants/acme/idps/corp", { key: acme.admin });
    expect(shown.statusCode).toBe(200);
    expect(shown.json<{ oidc: Record<string, unknown> }>().oidc).toMatchObject({
      clientId: peer.idp.clientId,
      clientSecretSet: true,
    });
    expect(Object.keys(shown.json<{ oidc: object }>().oidc)).not.toContain("clientSecret");
    expect(Object.keys(shown.json<{ oidc: object }>().oidc)).not.toContain("sealedClientSecret");
    await call("GET", "/v1/tenants/acme/idps", { key: acme.auditor });
    // Replacing the registration without a secret keeps the sealed one.
    const replaced = await call("PUT", "/v1/tenants/acme/idps/corp", {
      key: acme.admin,
      headers: { "if-match": '"1"' },
      body: { protocol: "oidc", oidc: { issuer: peer.issuer, clientId: peer.idp.clientId } },
    });
    expect(replaced.statusCode).toBe(200);

    // A full sign-in (the secret is used at the token endpoint) and a refused one.
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const inBrowser = { headers: { cookie: BROWSER } };
    const started = await call("GET", `/t/acme/idps/corp/start?return_to=${RETURN_URL}`, inBrowser);
    const callbackPath = serverPath(peer, await atPeer(peer, String(started.headers.location)));
    const done = await call("GET", callbackPath, inBrowser);
    const id = decisionOf(done);
    expect((await receipt(acme, id)).outcome).toBe("allow");
    await call("GET", callbackPath, inBrowser);
    await call("GET", `/v1/decisions/${id}`, { key: acme.auditor });
    const audit = await call("GET", "/v1/tenants/acme/audit?limit=500", { key: acme.auditor });
    const exported = await call("GET", "/v1/tenants/acme/audit?format=jsonl", {
      key: acme.auditor,
    });
    expect(exported.statusCode).toBe(200);
    expect(types(audit.json<{ items: { type: string }[] }>().items)).toEqual([
      "tenant.created",
      "policy.replaced",
      "idp.registered",
      "idp.updated",
      "decision.recorded",
      "federation.rejected",
    ]);
    expect(
      audit.json<{ items: { payload: Record<string, unknown> }[] }>().items[2]?.payload,
    ).toMatchObject({ clientSecretChanged: true });
    expect(
      audit.json<{ items: { payload: Record<string, unknown> }[] }>().items[3]?.payload,
    ).toMatchObject({ clientSecretChanged: false });

    expect(lines.length).toBeGreaterThan(0);
    const everything = [
      ...responses.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`),
      ...lines,
    ].join("\n");
    for (const form of forms) expect(everything).not.toContain(form);
  });
});

describe("freshness of the IdP's authentication", () => {
  it("challenges (step up at the IdP, forced) an MFA older than the policy's maxAgeSeconds", async () => {
    const acme = await acmeWithPeer("idp_mfa", { require: { maxAgeSeconds: 300 } });
    const { response, authorization } = await signInAs(
      acme,
      { ...MFA, authTime: nowSeconds() - 400 },
      { principal: "alice" },
    );
    expect(authorization.searchParams.get("max_age")).toBe("300");
    const r = await receipt(acme, decisionOf(response));
    expect(r.outcome).toBe("challenge");
    expect(r.decision.reasons.map((x) => x.code)).toEqual(["freshness.max_age_exceeded"]);
    expect(r.decision.challenge).toEqual([
      {
        kind: "idp_step_up",
        idp: "corp",
        acrValues: [REFEDS_MFA],
        authnContextClassRefs: [REFEDS_MFA],
        maxAgeSeconds: 300,
        forceAuthn: true,
        phishingResistant: false,
      },
    ]);
  });

  it("challenges when the server's clock has moved past the requirement by the time the callback arrives", async () => {
    const acme = await acmeWithPeer("idp_mfa", { require: { maxAgeSeconds: 300 } });
    peer.nextSignIn = MFA;
    syncClock(acme.t);
    const { path } = await callbackFor(acme.t, peer, { principal: "alice", cookie: BROWSER });
    acme.t.clock.advance(360);
    const r = await receipt(acme, decisionOf(await callback(acme.t, path, BROWSER)));
    expect(r.outcome).toBe("challenge");
    expect(r.decision.reasons.map((x) => x.code)).toEqual(["freshness.max_age_exceeded"]);
    expect(r.decision.challenge[0]).toMatchObject({ kind: "idp_step_up", forceAuthn: true });
  });

  // REFEDS MFA freshness: a sign-in that asked for a new authentication (prompt=login) and got
  // one from before it asked proves nothing now, even within the maximum age.
  it("does not count an authentication from before a forced sign-in asked for a new one", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    // A second beyond the IdP's clock skew (120 s by default): at the skew exactly the answer
    // counts, and a whole-second auth_time would then leave the outcome to the milliseconds.
    const { response, authorization } = await signInAs(
      acme,
      { ...MFA, authTime: nowSeconds() - 121 },
      { principal: "alice", force: true },
    );
    expect(authorization.searchParams.get("prompt")).toBe("login");
    const r = await receipt(acme, decisionOf(response));
    expect(r.outcome).toBe("challenge");
    const fresh = await signInAs(
      acme,
      { ...MFA, authTime: nowSeconds() + 1 },
      { principal: "alice", force: true },
    );
    expect((await receipt(acme, decisionOf(fresh.response))).outcome).toBe("allow");
  });

  it("counts a forced sign-in's authentication from within the clock skew before it asked", async () => {
    const acme = await acmeWithPeer("idp_mfa");
    syncClock(acme.t);
    // The server's clock stands still from here: the request is created at `asked`, and the IdP
    // says it authenticated at the latest whole second no more than 120 s (the skew) before it.
    const asked = acme.t.clock.now().getTime();
    peer.nextSignIn = { ...MFA, authTime: Math.ceil(asked / 1000) - 120 };
    const { path } = await callbackFor(acme.t, peer, {
      principal: "alice",
      force: true,
      cookie: BROWSER,
    });
    const r = await receipt(acme, decisionOf(await callback(acme.t, path, BROWSER)));
    expect(r.outcome).toBe("allow");
  });

  it("refuses an auth_time beyond max_age and the skew (oidc.auth_time_stale), audited, no decision", async () => {
    const acme = await acmeWithPeer("idp_mfa", { require: { maxAgeSeconds: 300 } });
    const { response } = await signInAs(acme, { ...MFA, authTime: nowSeconds() - 3600 });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain("<code>federation.rejected</code>");
    expect(await federationTypes(acme)).toEqual(["federation.rejected"]);
    expect(await auditOf(acme.t, acme.auditor, "acme", "federation.rejected")).toMatchObject([
      { payload: { reason: "oidc.auth_time_stale" } },
    ]);
  });
});
